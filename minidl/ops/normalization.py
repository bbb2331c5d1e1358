"""Batch normalisation as one Op, with the closed-form backward.

Training mode normalises with the batch's statistics over every axis but the channel axis 1:

    y = (x - mean) / sqrt(var + eps) * weight + bias          x: (N, C) or (N, C, *spatial)

and the backward is the closed form (M values per channel, x_hat the normalised input)::

    dx = weight / sqrt(var + eps) / M * (M * g - sum(g) - x_hat * sum(g * x_hat))

The backward runs on arrays, reusing what the forward saved. When a graph of the gradient is
being built (``create_graph=True``) it is computed with Tensor operations instead, the statistics
recomputed from ``x``, so second derivatives are exact.
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Op
from ..autograd.grad_mode import _GradMode
from ..backend import array_module
from ..tensor import Tensor
from . import cpu_kernels


def channel_shape(ndim: int, channels: int) -> tuple[int, ...]:
    """The shape that broadcasts a per-channel vector against ``(N, C, *spatial)``."""
    return (1, channels) + (1,) * (ndim - 2)


def channel_sum(a: Any) -> Any:
    """Sum of ``a: (N, C, *)`` over every axis but 1, as a (C,) array.

    A batched matrix-vector product with ones: several times faster in NumPy than
    ``a.sum(axis=(0, 2, 3))``, which strides across the channel planes.
    """
    if a.ndim == 2:
        return a.sum(0)
    batch, channels = a.shape[:2]
    flat = a.reshape(batch, channels, -1)
    return array_module(a).matmul(flat, array_module(a).ones(flat.shape[2], dtype=a.dtype)).sum(0)


class BatchNormTrain(Op):
    """Normalise ``x`` with its batch statistics and, in the same pass, update the running ones.

    running_mean, running_var: arrays updated in place (or None); factor: the weight of this
    batch in their exponential average. The running variance uses the unbiased estimate.
    """

    op_name = "batch_norm"

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, factor, eps):
        xp = array_module(x)
        count = x.size // x.shape[1]
        if cpu_kernels.enabled_for(x) and x.dtype.kind == "f" and x.ndim > 2:  # two compiled passes (cpu_kernels)
            out, x_hat, mean, var = cpu_kernels.batch_norm_forward(x, weight, bias, eps)
            invstd = 1 / xp.sqrt(var + x.dtype.type(eps))
        else:
            out, x_hat, mean, var, invstd = _array_forward(x, weight, bias, eps)
        if running_mean is not None:
            running_mean *= running_mean.dtype.type(1 - factor)
            running_mean += mean * running_mean.dtype.type(factor)
            running_var *= running_var.dtype.type(1 - factor)
            running_var += var * running_var.dtype.type(factor * count / (count - 1))
        ctx.save_for_backward(x, weight, bias)
        ctx.x_hat, ctx.invstd, ctx.eps, ctx.count = x_hat, invstd, eps, count
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, bias = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        if _GradMode.enabled:
            grad_x, grad_weight, grad_bias = _differentiable_backward(ctx, x, weight, grad)
        else:
            grad_x, grad_weight, grad_bias = _array_backward(ctx, weight, grad)
        return (grad_x if needs_x else None, grad_weight if needs_weight else None,
                grad_bias if needs_bias else None, None, None, None, None)


def _array_forward(x: Any, weight: Any, bias: Any, eps: float) -> tuple:
    """``y, x_hat, mean, var, invstd`` of training-mode batch norm on arrays, reusing temporaries."""
    xp = array_module(x)
    count = x.size // x.shape[1]
    shape = channel_shape(x.ndim, x.shape[1])
    mean = channel_sum(x) / x.dtype.type(count)
    centered = x - mean.reshape(shape)
    scratch = centered * centered
    var = channel_sum(scratch) / x.dtype.type(count)
    invstd = 1 / xp.sqrt(var + x.dtype.type(eps))
    x_hat = centered
    x_hat *= invstd.reshape(shape)
    if weight is None:
        xp.copyto(scratch, x_hat)
    else:
        xp.multiply(x_hat, weight.reshape(shape), out=scratch)  # fresh arrays cost page faults: reuse
    if bias is not None:
        scratch += bias.reshape(shape)
    return scratch, x_hat, mean, var, invstd


def _array_backward(ctx: Any, weight: Tensor | None, grad: Tensor) -> tuple:
    """The closed form on arrays, with as few passes over the data as it takes."""
    g, x_hat, count = grad._data, ctx.x_hat, ctx.count
    shape = channel_shape(g.ndim, g.shape[1])
    xp = array_module(g)
    if cpu_kernels.enabled_for(g) and g.ndim > 2 and g.dtype == x_hat.dtype and g.shape == x_hat.shape:
        scale = ctx.invstd if weight is None else ctx.invstd * weight._data
        return tuple(Tensor._make(a) for a in cpu_kernels.batch_norm_backward(g, x_hat, scale))
    grad_bias = channel_sum(g)
    scratch = g * x_hat
    grad_weight = channel_sum(scratch)
    k = ctx.invstd if weight is None else ctx.invstd * weight._data
    grad_x = g * k.reshape(shape)
    grad_x -= xp.multiply(x_hat, (k * grad_weight / count).reshape(shape), out=scratch)
    grad_x -= (k * grad_bias / count).reshape(shape)
    return Tensor._make(grad_x), Tensor._make(grad_weight), Tensor._make(grad_bias)


def _differentiable_backward(ctx: Any, x: Tensor, weight: Tensor | None, grad: Tensor) -> tuple:
    """The same closed form in Tensor ops, with the statistics recomputed from ``x`` (create_graph=True)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = channel_shape(x.ndim, x.shape[1])
    count = ctx.count
    mean = x.mean(axes, keepdim=True)
    invstd = ((x - mean) ** 2).mean(axes, keepdim=True).add(ctx.eps).rsqrt()
    x_hat = (x - mean) * invstd
    grad_sum = grad.sum(axes, keepdim=True)
    grad_xhat_sum = (grad * x_hat).sum(axes, keepdim=True)
    scale = invstd if weight is None else invstd * weight.reshape(shape)
    grad_x = (scale / count) * (grad * count - grad_sum - x_hat * grad_xhat_sum)
    return grad_x, grad_xhat_sum.reshape(-1), grad_sum.reshape(-1)


def batch_norm_train(x: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                     running_var: Tensor | None, factor: float, eps: float) -> Tensor:
    """``BatchNormTrain.apply``, bumping the running buffers' versions (they change in place)."""
    out = BatchNormTrain.apply(x, weight, bias, running_mean, running_var, factor, eps)
    for buffer in (running_mean, running_var):
        if buffer is not None:
            buffer._version[0] += 1
    return out
