"""``minidl.nn.functional``: every layer as a function, with PyTorch's names and arguments.

    import minidl.nn.functional as F
    h = F.relu(F.linear(x, weight, bias))              # x: (N, in), weight: (out, in)
    loss = F.cross_entropy(logits, labels)              # logits: (N, C), labels: (N,) int64

Losses live in ``minidl.nn._functional.loss`` and convolution/pooling/upsampling in
``minidl.nn.functional_conv``; all are re-exported here.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dtypes
from ..ops import activation as _activation
from ..ops.elementwise import relu as _relu
from ..ops.elementwise import sigmoid, tanh, where
from ..ops.indexing import pad
from ..ops.normalization import batch_norm_train, channel_shape
from ..ops.reduction import log_softmax as _log_softmax
from ..ops.reduction import softmax as _softmax
from ..tensor import Tensor
from ._functional import maybe_inplace
from ._functional.dropout import alpha_dropout, dropout, dropout1d, dropout2d  # the dropout family
from ._functional.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


# ---- linear --------------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``.

    input: (..., in_features), weight: (out_features, in_features), bias: (out_features,) -> (..., out_features)

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.linear(md.randn(8, 3), md.randn(5, 3)).shape
    (8, 5)
    """
    if weight.ndim != 2 or input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {_shape(input)} has {input.shape[-1] if input.ndim else 'no'} features in "
            f"its last dim, but weight of shape {_shape(weight)} expects {weight.shape[-1]}"
        )
    return _activation.Linear.apply(input, weight, bias)


# ---- activations ---------------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); with ``inplace=True`` the result is written into ``input``, which is returned.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.relu(md.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return input.relu_() if inplace else _relu(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (``inplace``: written into ``input``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val] (``inplace``: written into ``input``)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return maybe_inplace(input, inplace, "hardtanh", lambda x: _activation.Hardtanh.apply(x, min_val, max_val))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (``inplace``: written into ``input``)."""
    return maybe_inplace(input, inplace, "leaky_relu", lambda x: _activation.LeakyReLU.apply(x, negative_slope))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """Leaky ReLU with a learned slope: one per channel (dim 1), or one shared (weight of 1 element)."""
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise ValueError(
                f"prelu: weight has {weight.numel()} slopes, which must be 1 or the number of channels "
                f"(dim 1) of the input, got input of shape {_shape(input)}"
            )
        weight = weight.reshape(channel_shape(input.ndim, input.shape[1]))
    return where(input > 0, input, input * weight)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise (``inplace``: written into ``input``)."""
    return maybe_inplace(input, inplace, "elu", lambda x: _activation.ELU.apply(x, alpha, 1.0))


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants (alpha ~ 1.6733, scale ~ 1.0507)
    (``inplace``: written into ``input``)."""
    return maybe_inplace(input, inplace, "selu", lambda x: _activation.ELU.apply(x, SELU_ALPHA, SELU_SCALE))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation.GELU.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish) (``inplace``: written into ``input``)."""
    return maybe_inplace(input, inplace, "silu", _activation.SiLU.apply)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold."""
    return _activation.Softplus.apply(input, beta, threshold)


def _softmax_dim(ndim: int) -> int:
    """PyTorch's implicit dim for softmax called without one."""
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed with the max subtracted."""
    return _softmax(input, _softmax_dim(input.ndim) if dim is None else dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable for logits of any magnitude."""
    return _log_softmax(input, _softmax_dim(input.ndim) if dim is None else dim, dtype)


# ---- normalisation ---------------------------------------------------------------------------------


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of ``input: (N, C, *)``, then scale by ``weight`` and shift by ``bias``.

    Training: batch statistics, and the running ones (when given) move by ``momentum`` towards
    them (the variance's unbiased estimate). Evaluation: the running statistics.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {_shape(input)}")
    channels = input.shape[1]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                         ("bias", bias)):
        if tensor is not None and _shape(tensor) != (channels,):
            raise ValueError(
                f"batch_norm: {name} has shape {_shape(tensor)}, but the input of shape {_shape(input)} has "
                f"{channels} channels in dim 1"
            )
    if training:
        if input.numel() // channels <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                f"{_shape(input)}; use a batch of 2 or more, or call .eval()"
            )
        return batch_norm_train(input, weight, bias, running_mean, running_var, momentum, eps)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are needed in evaluation mode (training=False)")
    shape = channel_shape(input.ndim, channels)
    scale = (running_var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(shape) + shift.reshape(shape)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims (which must equal ``normalized_shape``)."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    count = len(normalized_shape)
    if input.ndim < count or _shape(input)[input.ndim - count:] != normalized_shape:
        raise ValueError(
            f"layer_norm: expected input whose last {count} dims are {normalized_shape}, got shape {_shape(input)}"
        )
    axes = tuple(range(input.ndim - count, input.ndim))
    mean = input.mean(axes, keepdim=True)
    centered = input - mean
    out = centered * ((centered * centered).mean(axes, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise ``input: (N, C, *)`` over groups of ``C // num_groups`` channels (and all positions)."""
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, got shape "
            f"{_shape(input)}"
        )
    batch, channels = input.shape[:2]
    grouped = input.reshape(batch, num_groups, -1)
    mean = grouped.mean(2, keepdim=True)
    centered = grouped - mean
    out = (centered * ((centered * centered).mean(2, keepdim=True) + eps).rsqrt()).reshape(input.shape)
    shape = channel_shape(input.ndim, channels)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ---- embeddings and encodings -------------------------------------------------------------------------


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight: (num_embeddings, dim)`` at the indices ``input: (*)`` -> ``(*, dim)``.

    The row at ``padding_idx`` gets no gradient.
    """
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}; convert with .long()")
    rows = weight.shape[0]
    if input.numel():
        low, high = int(input._data.min()), int(input._data.max())
        if low < -rows or high >= rows:
            raise IndexError(
                f"embedding: index {high if high >= rows else low} is out of range for an embedding of "
                f"{rows} rows (valid: 0..{rows - 1})"
            )
    out = weight[input._data]
    if padding_idx is not None:
        is_padding = Tensor._make((input._data == padding_idx % rows)[..., None])
        out = where(is_padding, out.detach(), out)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape ``(*, num_classes)`` with a 1 at each index (num_classes=-1: max + 1)."""
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got {tensor.dtype}")
    xp = tensor._xp()
    indices = tensor._data
    if num_classes < 0:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got {int(indices.min())}.."
                         f"{int(indices.max())}")
    return Tensor._make((indices[..., None] == xp.arange(num_classes)).astype(dtypes.int64))


__all__ = [
    "linear", "relu", "relu6", "hardtanh", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "sigmoid", "tanh",
    "softplus", "softmax", "log_softmax", "batch_norm", "layer_norm", "group_norm", "dropout", "dropout2d",
    "embedding", "one_hot", "pad", "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss",
    "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]

# ---- convolution, pooling, upsampling (written in minidl/nn/functional_conv.py) -------------------------
from .functional_conv import (  # noqa: E402
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose2d,
    fold,
    interpolate,
    max_pool1d,
    max_pool2d,
    max_pool2d_with_indices,
    max_unpool2d,
    unfold,
)

__all__ += [
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "conv_transpose2d",
    "fold", "interpolate", "max_pool1d", "max_pool2d", "max_pool2d_with_indices", "max_unpool2d", "unfold",
]

# ---- attention (written in minidl/nn/_functional/attention.py) ------------------------------------------
from ._functional.attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: E402

__all__ += ["multi_head_attention_forward", "scaled_dot_product_attention"]

# ---- distances and the margin/embedding losses (minidl/nn/_functional/distance.py, margin_loss.py) ------
from ._functional.distance import cosine_similarity, normalize, pairwise_distance  # noqa: E402
from ._functional.loss import gaussian_nll_loss, poisson_nll_loss  # noqa: E402
from ._functional.margin_loss import (  # noqa: E402
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
    triplet_margin_loss,
)

__all__ += [
    "cosine_similarity", "normalize", "pairwise_distance", "gaussian_nll_loss", "poisson_nll_loss",
    "cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss", "multi_margin_loss",
    "multilabel_soft_margin_loss", "soft_margin_loss", "triplet_margin_loss",
]

# ---- more activations (minidl/nn/_functional/activation.py) ---------------------------------------------
from ._functional.activation import (  # noqa: E402
    celu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    logsigmoid,
    mish,
    rrelu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)

__all__ += [
    "celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "logsigmoid", "mish", "rrelu", "softmin",
    "softshrink", "softsign", "tanhshrink", "threshold",
]

# ---- shuffles, instance norm, bilinear, 1-d adaptive pooling (minidl/nn/_functional/) -------------------
from ._functional.bilinear import bilinear  # noqa: E402
from ._functional.instance_norm import instance_norm  # noqa: E402
from ._functional.pool1d import adaptive_avg_pool1d, adaptive_max_pool1d  # noqa: E402
from ._functional.shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle  # noqa: E402

__all__ += [
    "bilinear", "alpha_dropout", "dropout1d", "instance_norm", "adaptive_avg_pool1d", "adaptive_max_pool1d",
    "channel_shuffle", "pixel_shuffle", "pixel_unshuffle",
]
