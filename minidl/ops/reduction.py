"""Reductions: sum, mean, prod, max/min, norms, variance, logsumexp, softmax.

A reduction's backward broadcasts the incoming gradient back over the reduced dimensions:
reshape it to the ``keepdim=True`` shape, then ``expand`` to the input's shape.
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any, Sequence

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor, _check_dim
from .elementwise import where

Dims = Any  # None, an int, or a sequence of ints

values_indices = namedtuple("values_indices", ["values", "indices"])


def normalize_dims(dim: Dims, ndim: int, op: str) -> tuple[int, ...] | None:
    """``dim`` as a sorted tuple of non-negative axes, or None for "all"."""
    if dim is None:
        return None
    if isinstance(dim, int):
        dim = (dim,)
    axes = tuple(sorted({_check_dim(d, ndim, op) for d in dim})) if ndim else ()
    return axes


def _keep_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _reduced_shape(shape: tuple, axes: tuple | None) -> tuple:
    return () if axes is None else tuple(s for i, s in enumerate(shape) if i not in axes)


def _spread(grad: Tensor, shape: tuple, axes: tuple | None) -> Tensor:
    """Undo a reduction: reshape ``grad`` to keepdim form and expand it to ``shape``."""
    return grad.reshape(_keep_shape(shape, axes)).expand(shape)


class Sum(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes = x.shape, axes
        return array_module(x).sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx.shape, ctx.axes), None, None


class SumTo(Op):
    """Sum ``x`` down to ``shape`` (the reverse of broadcasting ``shape`` up to ``x.shape``)."""

    op_name = "sum_to"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        lead = x.ndim - len(shape)
        if lead < 0 or builtins.any(s not in (1, xs) for s, xs in zip(shape, x.shape[lead:])):
            raise ValueError(f"shape {tuple(x.shape)} can't be summed down to {tuple(shape)}")
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
        )
        out = x.sum(axis=axes, keepdims=True) if axes else x
        return out.reshape(shape) if lead else out

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.shape), None


class Mean(Op):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        if x.dtype.kind not in "fc":
            raise TypeError(f"mean needs a floating point tensor, got {x.dtype}; convert it with .float()")
        out = array_module(x).mean(x, axis=axes, keepdims=keepdim)
        ctx.shape, ctx.axes, ctx.count = x.shape, axes, x.size // builtins.max(out.size, 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx.shape, ctx.axes) / ctx.count, None, None


class Prod(Op):
    @staticmethod
    def forward(ctx, x, axis, keepdim):
        out = array_module(x).prod(x, axis=axis, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        axes = None if ctx.axis is None else (ctx.axis,)
        grad = _spread(grad, x.shape, axes)
        if not bool((x._data == 0).any()):
            return grad * _spread(out, x.shape, axes) / x, None, None
        # With zeros, out / x is undefined: multiply the products to the left and to the right.
        return grad * Tensor._make(_products_of_others(x._data, ctx.axis)), None, None


def _prod(shape: tuple) -> int:
    result = 1
    for size in shape:
        result *= size
    return result


def _products_of_others(x: Any, axis: int | None) -> Any:
    """For each element, the product of all others along ``axis`` (exact with zeros)."""
    xp = array_module(x)
    shape = x.shape
    moved = x.reshape(-1) if axis is None else xp.moveaxis(x, axis, -1)
    ones = xp.ones(moved.shape[:-1] + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(moved, -1)[..., :-1]], axis=-1), axis=-1), -1)
    others = left * right
    return others.reshape(shape) if axis is None else xp.moveaxis(others, -1, axis)


class ArgExtreme(Op):
    """max/min along one dim: (values, indices). The gradient goes to the chosen element."""

    op_name = "max"

    @staticmethod
    def forward(ctx, x, axis, keepdim, largest):
        xp = array_module(x)
        if x.shape[axis] == 0:
            raise ValueError(f"can't take the {'max' if largest else 'min'} of an empty dimension {axis}")
        indices = xp.expand_dims((xp.argmax if largest else xp.argmin)(x, axis=axis), axis)
        values = xp.take_along_axis(x, indices, axis=axis)
        ctx.shape, ctx.axis, ctx.keepdim = x.shape, axis, keepdim
        ctx.save_for_backward(indices)
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return values, indices

    @staticmethod
    def backward(ctx, grad, _grad_indices):
        (indices,) = ctx.saved_tensors
        if not ctx.keepdim:
            grad = grad.unsqueeze(ctx.axis)
        zeros = Tensor._make(grad._xp().zeros(ctx.shape, dtype=grad.dtype))
        return zeros.scatter(ctx.axis, indices, grad), None, None, None


class Amax(Op):
    """max over dims; ties share the gradient evenly (PyTorch's amax/amin rule)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest):
        xp = array_module(x)
        if x.size == 0:
            raise ValueError("can't reduce an empty tensor")
        out = (xp.max if largest else xp.min)(x, axis=axes, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        ctx.axes = axes
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        keep = _keep_shape(x.shape, ctx.axes)
        hit = x == out.reshape(keep)
        count = hit.sum(ctx.axes, keepdim=True)
        return grad.reshape(keep) * hit / count, None, None, None


class Norm(Op):
    """p-norm over dims. p = 2 has gradient x / ||x||, taken as 0 where the norm is 0."""

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        xp = array_module(x)
        a = xp.abs(x)
        if p == 2:
            out = xp.sqrt(xp.sum(x * x, axis=axes, keepdims=keepdim))
        elif p == 1:
            out = xp.sum(a, axis=axes, keepdims=keepdim)
        elif p == float("inf"):
            out = xp.max(a, axis=axes, keepdims=keepdim)
        elif p == float("-inf"):
            out = xp.min(a, axis=axes, keepdims=keepdim)
        elif p == 0:
            out = xp.sum(x != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
        else:
            out = xp.sum(a**p, axis=axes, keepdims=keepdim) ** (1.0 / p)
        ctx.save_for_backward(x, out)
        ctx.p, ctx.axes = p, axes
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        p, axes = ctx.p, ctx.axes
        keep = _keep_shape(x.shape, axes)
        grad, out = grad.reshape(keep), out.reshape(keep)
        if p == 0:
            return grad * 0.0 * x, None, None, None
        if p == 1:
            return grad * x.sign(), None, None, None
        if p in (float("inf"), float("-inf")):
            hit = x.abs() == out
            return grad * x.sign() * hit / hit.sum(axes, keepdim=True), None, None, None
        safe = where(out == 0, 1.0, out)
        if p == 2:
            return grad * x / safe, None, None, None
        return grad * x.sign() * x.abs() ** (p - 1) / safe ** (p - 1), None, None, None


class Softmax(Op):
    """softmax along ``dim``, computed with the max subtracted (no overflow)."""

    @staticmethod
    def forward(ctx, x, axis):
        xp = array_module(x)
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        y = e / xp.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - (grad * y).sum(ctx.axis, keepdim=True)), None


class LogSoftmax(Op):
    """log(softmax(x)) = x - logsumexp(x), stable for logits of any magnitude."""

    @staticmethod
    def forward(ctx, x, axis):
        xp = array_module(x)
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        y = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad - y.exp() * grad.sum(ctx.axis, keepdim=True), None


# ---- public functions ---------------------------------------------------------------------


def _float_input(input: Tensor, op: str) -> Tensor:
    if input.dtype.kind not in "fc":
        raise TypeError(f"{op} needs a floating point tensor, got {input.dtype}; convert it with .float()")
    return input


def sum(input: Tensor, dim: Dims = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims when None). Booleans and integers sum to int64."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bui":
        input = input.to(dtypes.int64)
    return Sum.apply(input, normalize_dims(dim, input.ndim, "sum"), keepdim)


def sum_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """Sum ``input`` down to ``shape``: the adjoint of broadcasting ``shape`` to ``input.shape``."""
    shape = tuple(shape)
    return input if input.shape == shape else SumTo.apply(input, shape)


def mean(input: Tensor, dim: Dims = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if dtype is not None:
        input = input.to(dtype)
    return Mean.apply(input, normalize_dims(dim, input.ndim, "mean"), keepdim)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    axis = None if dim is None else _check_dim(dim, input.ndim, "prod")
    return Prod.apply(input, axis, keepdim)


def var(input: Tensor, dim: Dims = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``; ``unbiased=False`` gives 0)."""
    _float_input(input, "var")
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = normalize_dims(dim, input.ndim, "var")
    count = input.numel() // builtins.max(_prod(_reduced_shape(input.shape, axes)), 1)
    centered = input - mean(input, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim=keepdim) / builtins.max(count - correction, 0)


def std(input: Tensor, dim: Dims = None, unbiased: bool | None = None, keepdim: bool = False,
        correction: int | None = None) -> Tensor:
    return var(input, dim, unbiased, keepdim, correction).sqrt()


def logsumexp(input: Tensor, dim: Dims, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, with the max factored out so it never overflows."""
    _float_input(input, "logsumexp")
    axes = normalize_dims(dim, input.ndim, "logsumexp")
    shift = amax(input.detach(), axes, keepdim=True)
    shift = where(shift.isfinite(), shift, 0.0)
    out = (input - shift).exp().sum(axes, keepdim=True).log() + shift
    return out if keepdim else out.reshape(_reduced_shape(input.shape, axes))


def amax(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
    return Amax.apply(input, normalize_dims(dim, input.ndim, "amax"), keepdim, True)


def amin(input: Tensor, dim: Dims = None, keepdim: bool = False) -> Tensor:
    return Amax.apply(input, normalize_dims(dim, input.ndim, "amin"), keepdim, False)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest value; ``max(x, dim)``: ``(values, indices)``; ``max(x, y)``: elementwise."""
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(input, dim)
    if dim is None:
        return amax(input)
    values, indices = ArgExtreme.apply(input, _check_dim(dim, input.ndim, "max"), keepdim, True)
    return values_indices(values, indices)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or elementwise ``min(x, y)``."""
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(input, dim)
    if dim is None:
        return amin(input)
    values, indices = ArgExtreme.apply(input, _check_dim(dim, input.ndim, "min"), keepdim, False)
    return values_indices(values, indices)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg(input, dim, keepdim, "argmax")


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg(input, dim, keepdim, "argmin")


def _arg(input: Tensor, dim: int | None, keepdim: bool, name: str) -> Tensor:
    xp = input._xp()
    if dim is None:
        index = getattr(xp, name)(input._data.reshape(-1))
        out = xp.asarray(index, dtype=dtypes.int64)
        return Tensor._make(out.reshape((1,) * input.ndim) if keepdim else out)
    axis = _check_dim(dim, input.ndim, name)
    out = getattr(xp, name)(input._data, axis=axis).astype(dtypes.int64)
    return Tensor._make(xp.expand_dims(out, axis) if keepdim else out)


def norm(input: Tensor, p: Any = "fro", dim: Dims = None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements when None); ``'fro'`` is the 2-norm."""
    _float_input(input, "norm")
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise ValueError(f"norm: unsupported p={p!r}; use a number, inf or 'fro'")
    return Norm.apply(input, float(p), normalize_dims(dim, input.ndim, "norm"), keepdim)


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """softmax along ``dim``: exp(x) / sum(exp(x)), computed stably."""
    if dtype is not None:
        input = input.to(dtype)
    _float_input(input, "softmax")
    return Softmax.apply(input, _check_dim(dim, input.ndim, "softmax"))


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim``, without ever forming softmax (stable for huge logits)."""
    if dtype is not None:
        input = input.to(dtype)
    _float_input(input, "log_softmax")
    return LogSoftmax.apply(input, _check_dim(dim, input.ndim, "log_softmax"))


def all(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return Tensor._make(input._xp().all(input._data, axis=dim, keepdims=keepdim))


def any(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return Tensor._make(input._xp().any(input._data, axis=dim, keepdims=keepdim))


def count_nonzero(input: Tensor, dim: Dims = None) -> Tensor:
    return Tensor._make(input._xp().asarray(input._xp().count_nonzero(input._data, axis=dim), dtype=dtypes.int64))


def cumsum(input: Tensor, dim: int) -> Tensor:
    """Running sum along ``dim``; its gradient is the reversed running sum of the gradient."""
    return CumSum.apply(input, _check_dim(dim, input.ndim, "cumsum"))


class CumSum(Op):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return array_module(x).cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.axis).cumsum(ctx.axis).flip(ctx.axis), None
