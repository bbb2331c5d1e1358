"""``F.instance_norm``: normalise each channel of each sample over its positions, with PyTorch's running
statistics. The normalisation is composed of differentiable ops (gradients of any order come free); the
running statistics are updated in place, outside the graph.

    out = F.instance_norm(x)        # x: (N, C, L) or (N, C, H, W); each x[n, c] to mean 0, variance 1
"""

from __future__ import annotations

import math

from ...ops.normalization import channel_shape
from ...tensor import Tensor


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _update_running(running: Tensor | None, per_instance: Tensor, momentum: float, correction: float) -> None:
    """``running <- (1 - momentum) * running + momentum * correction * mean over N of per_instance``
    (PyTorch's rule: each sample updates its own copy of the running value, and the copies are averaged)."""
    if running is None:
        return
    data = running._data
    batch_value = per_instance._data.reshape(per_instance.shape[0], -1).mean(0) * correction
    data *= data.dtype.type(1 - momentum)
    data += batch_value.astype(data.dtype) * data.dtype.type(momentum)
    running._version[0] += 1


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias``, mean and (biased) var over the positions of each
    ``x[n, c]``.

    input: ``(N, C, *)`` with at least one position dim; running_mean, running_var, weight, bias: ``(C,)``.
    ``use_input_stats``: normalise with the input's statistics and move the running ones (when given)
    by ``momentum`` towards their mean over the batch (the variance's unbiased estimate); otherwise
    normalise with the running statistics.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.instance_norm(md.tensor([[[1.0, 3.0], [2.0, 2.0]]]))
    tensor([[[-1.,  1.],
             [ 0.,  0.]]])
    """
    name = "instance_norm"
    if input.ndim < 3:
        raise ValueError(f"{name}: expected input (N, C, *) with at least one dim after C, got shape {_shape(input)}")
    channels = input.shape[1]
    for argument, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                             ("bias", bias)):
        if tensor is not None and _shape(tensor) != (channels,):
            raise ValueError(f"{name}: {argument} has shape {_shape(tensor)}, but the input of shape {_shape(input)} "
                             f"has {channels} channels in dim 1")
    shape = channel_shape(input.ndim, channels)
    if use_input_stats:
        positions = math.prod(_shape(input)[2:])
        if positions <= 1:
            raise ValueError(f"{name}: expected more than 1 spatial element when using the input's statistics "
                             f"(training), got input of shape {_shape(input)}")
        axes = tuple(range(2, input.ndim))
        mean = input.mean(axes, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(axes, keepdim=True)
        out = centered * (var + eps).rsqrt()
        _update_running(running_mean, mean, momentum, 1.0)
        _update_running(running_var, var, momentum, positions / (positions - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{name}: running_mean and running_var are needed when use_input_stats=False")
        out = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out
