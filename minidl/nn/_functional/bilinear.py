"""``F.bilinear``: ``y_k = x1 @ weight[k] @ x2 + bias_k``, one bilinear form per output feature.

Written as one matmul and one product-sum, so gradients (of any order) come from those ops::

    F.bilinear(md.randn(8, 3), md.randn(8, 4), md.randn(5, 3, 4)).shape    # (8, 5)
"""

from __future__ import annotations

from ...tensor import Tensor


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``out[..., k] = sum_ij input1[..., i] * weight[k, i, j] * input2[..., j] + bias[k]``.

    input1: ``(*, in1_features)``, input2: ``(*, in2_features)`` (the same ``*``), weight:
    ``(out_features, in1_features, in2_features)``, bias: ``(out_features,)`` -> ``(*, out_features)``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.bilinear(md.tensor([[1.0, 2.0]]), md.tensor([[3.0]]), md.tensor([[[1.0], [1.0]]]), md.tensor([0.5]))
    tensor([[9.5]])
    """
    name = "bilinear"
    if weight.ndim != 3:
        raise ValueError(f"{name}: weight must be 3-D (out_features, in1_features, in2_features), got shape "
                         f"{_shape(weight)}")
    out_features, in1_features, in2_features = _shape(weight)
    if input1.ndim == 0 or input1.ndim != input2.ndim or _shape(input1)[:-1] != _shape(input2)[:-1]:
        raise ValueError(f"{name}: input1 and input2 must have the same batch dims (all but the last), got shapes "
                         f"{_shape(input1)} and {_shape(input2)}")
    for which, tensor, features in (("input1", input1, in1_features), ("input2", input2, in2_features)):
        if tensor.shape[-1] != features:
            raise ValueError(f"{name}: {which} of shape {_shape(tensor)} has {tensor.shape[-1]} features in its last "
                             f"dim, but weight of shape {_shape(weight)} expects {features}")
    if bias is not None and _shape(bias) != (out_features,):
        raise ValueError(f"{name}: bias must have shape ({out_features},), one value per output feature, got "
                         f"{_shape(bias)}")
    batch = _shape(input1)[:-1]
    # input1 times every weight[k]: (*, out_features * in2_features), then the dot product with input2
    left = input1 @ weight.permute(1, 0, 2).reshape(in1_features, out_features * in2_features)
    out = (left.reshape(*batch, out_features, in2_features) * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias
