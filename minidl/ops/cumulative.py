"""Running (cumulative) ops along one dim: ``cumprod``, ``cummax``/``cummin``, ``logcumsumexp``,
and the finite difference ``diff``. (``cumsum`` lives with the reductions.) PyTorch's names and rules.

Every forward is one vectorised pass per slice (a NumPy/CuPy scan), never a Python loop over
elements; every backward is written with differentiable ops, so second derivatives work::

    cumprod(x, 0)          # [x0, x0*x1, x0*x1*x2, ...], gradient exact when x has zeros
    cummax(x, 0)           # (running max, index of the element it came from)
    logcumsumexp(x, 0)     # log(cumsum(exp(x))), without overflow
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor, _check_dim
from .composed import logical_xor
from .elementwise import where
from .reduction import _float_input, values_indices
from .shape import cat

__all__ = ["cumprod", "cummax", "cummin", "logcumsumexp", "diff"]

# ---- helpers ------------------------------------------------------------------------------------


def _positions(x: Any, axis: int) -> Any:
    """``0, 1, ..., n-1`` along ``axis``, shaped to broadcast against ``x``."""
    xp = array_module(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    return xp.arange(x.shape[axis]).reshape(shape)


def _reverse_cumsum(t: Tensor, axis: int) -> Tensor:
    """``out[i] = sum_{j >= i} t[j]`` along ``axis`` (the adjoint of a running sum)."""
    return t.flip(axis).cumsum(axis).flip(axis)


def _on_scalar(function: Callable, input: Tensor, dim: int, op: str) -> Any:
    """Run ``function(input, axis)``; a 0-d input is treated as one element along dim 0 or -1."""
    axis = _check_dim(dim, input.ndim, op)
    if input.ndim:
        return function(input, axis)
    result = function(input.reshape(1), 0)
    if isinstance(result, tuple):
        return values_indices(*(r.reshape(()) for r in result))
    return result.reshape(())


# ---- cumprod ------------------------------------------------------------------------------------


class CumProd(Op):
    """``y[j] = prod_{i <= j} x[i]``. Without zeros, ``dx[i] = sum_{j >= i} g[j] y[j] / x[i]``.

    With zeros, let ``k`` be a slice's first zero: every ``y[j]``, ``j >= k``, holds ``x[k]`` as a
    factor, so for ``i < k`` only the terms ``j < k`` count (and ``x[i] != 0``); for ``i = k``,
    ``dx[k] = y[k-1] * sum_{j >= k} g[j] prod_{k < m <= j} x[m]``; for ``i > k`` the gradient is 0
    (``x[k] = 0`` multiplies it). Both products are running products themselves, so this is three
    scans per slice, and it is PyTorch's value however many zeros there are. (The second derivative
    at an exact zero is not: past the first zero the gradient is the constant 0, so its dependence
    on ``x[k]`` itself is lost. Away from zeros second derivatives are exact.)
    """

    @staticmethod
    def forward(ctx, x, axis):
        y = array_module(x).cumprod(x, axis=axis)
        ctx.save_for_backward(x, y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        axis = ctx.axis
        xp = x._xp()
        zero = x._data == 0
        if not bool(zero.any()):
            return _reverse_cumsum(grad * y, axis) / x, None
        position = _positions(x._data, axis)
        n = x.shape[axis]
        first_zero = xp.where(zero.any(axis=axis, keepdims=True), xp.argmax(zero, axis=axis, keepdims=True), n)
        before = Tensor._make((position < first_zero).astype(x.dtype))
        at = Tensor._make((position == first_zero).astype(x.dtype))
        # ``head[j] = prod_{m <= min(j, k-1)} x[m]``: y before the zero, then y[k-1] held.
        head = CumProd.apply(where(before > 0, x, 1.0), axis)
        # ``tail[j] = prod_{k < m <= j} x[m]`` for j >= k (a running product restarted after the zero).
        tail = CumProd.apply(where(Tensor._make(position <= first_zero), 1.0, x), axis)
        left = _reverse_cumsum(grad * head * before, axis) / where(before > 0, x, 1.0) * before
        right = head * _reverse_cumsum(grad * tail * (1.0 - before), axis) * at
        return left + right, None


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running product along ``dim``: ``out[..., j, ...] = prod_{i <= j} input[..., i, ...]``.

    Same shape as ``input``; bools and integers give int64 (no gradient). The gradient is exact
    where ``input`` has zeros (PyTorch's values).

        >>> import minidl as md
        >>> md.cumprod(md.tensor([[1.0, 2.0, 3.0], [2.0, 0.0, 4.0]]), 1)
        tensor([[1., 2., 6.],
                [2., 0., 0.]])
    """
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bui":
        input = input.to(dtypes.int64)
    return _on_scalar(lambda t, axis: CumProd.apply(t, axis), input, dim, "cumprod")


# ---- cummax / cummin ----------------------------------------------------------------------------


class CumExtreme(Op):
    """Running max (or min) and the index it came from. Ties take the latest index, and from the
    first NaN on the value is NaN, its index that of the latest NaN (PyTorch's choices). The gradient of each
    output goes to the element it was taken from (added up over the outputs that share it)."""

    op_name = "cummax"

    @staticmethod
    def forward(ctx, x, axis, largest):
        xp = array_module(x)
        values = (xp.maximum if largest else xp.minimum).accumulate(x, axis=axis)
        position = _positions(x, axis)
        hit = x == values  # a new extreme, or a tie with it: the index moves here
        if x.dtype.kind in "fc":
            hit |= xp.isnan(x)  # a NaN takes the index, even after an earlier NaN (as PyTorch)
        indices = xp.maximum.accumulate(xp.where(hit, position, 0), axis=axis).astype(dtypes.int64)
        ctx.save_for_backward(indices)
        ctx.axis, ctx.shape = axis, x.shape
        return values, indices

    @staticmethod
    def backward(ctx, grad, _grad_indices):
        (indices,) = ctx.saved_tensors
        zeros = Tensor._make(grad._xp().zeros(ctx.shape, dtype=grad.dtype))
        return zeros.scatter_add(ctx.axis, indices, grad), None, None


class CumMin(CumExtreme):
    op_name = "cummin"


def cummax(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """``(values, indices)``: the running maximum along ``dim`` and where each came from (int64).

    Ties take the latest index; NaN wins and stays. Both outputs have ``input``'s shape.

        >>> import minidl as md
        >>> md.cummax(md.tensor([1.0, 3.0, 2.0, 3.0]), 0)
        values_indices(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    result = _on_scalar(lambda t, axis: CumExtreme.apply(t, axis, True), input, dim, "cummax")
    return values_indices(*result)


def cummin(input: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """``(values, indices)``: the running minimum along ``dim`` (ties: the latest index).

        >>> import minidl as md
        >>> md.cummin(md.tensor([2, 1, 3, 1]), 0).indices
        tensor([0, 1, 1, 3])
    """
    result = _on_scalar(lambda t, axis: CumMin.apply(t, axis, False), input, dim, "cummin")
    return values_indices(*result)


# ---- logcumsumexp -------------------------------------------------------------------------------


def log_add_exp_scan(x: Any, axis: int) -> Any:
    """``log(cumsum(exp(x)))`` along ``axis`` with no overflow: NumPy's sequential
    ``logaddexp.accumulate``; elsewhere (CuPy) a Hillis-Steele scan, ``log2(n)`` passes of
    ``logaddexp`` over shifted copies."""
    xp = array_module(x)
    if xp is np:
        return np.logaddexp.accumulate(x, axis=axis)
    out = xp.moveaxis(x, axis, -1).copy()
    shift = 1
    while shift < out.shape[-1]:
        out[..., shift:] = xp.logaddexp(out[..., shift:], out[..., :-shift])
        shift *= 2
    return xp.moveaxis(out, -1, axis)


class LogCumSumExp(Op):
    """``y[j] = log sum_{i <= j} exp(x[i])``; ``dx[i] = sum_{j >= i} g[j] exp(x[i] - y[j])``.

    The gradient sums the positive and the negative parts of ``g`` separately, each in log space
    (``exp(x[i] + log sum_{j >= i} exp(log g[j] - y[j]))``, a reversed logcumsumexp), so neither
    ``exp(x)`` nor ``exp(-y)`` is ever formed: no overflow for any magnitude.
    """

    @staticmethod
    def forward(ctx, x, axis):
        y = log_add_exp_scan(x, axis)
        ctx.save_for_backward(x, y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        axis = ctx.axis
        # Where every input so far is -inf, y is -inf and x - y would be NaN: those terms are 0 anyway
        # (x = -inf), and a finite stand-in keeps NaN out of the second derivative too.
        y = where(y == float("-inf"), 0.0, y)

        def part(mask: Tensor, magnitude: Tensor) -> Tensor:
            log_g = where(mask, where(mask, magnitude, 1.0).log(), float("-inf"))
            return (LogCumSumExp.apply((log_g - y).flip(axis), axis).flip(axis) + x).exp()

        return part(grad > 0, grad) - part(grad < 0, -grad), None


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))``, computed without overflow (floating point inputs only).

    Same shape as ``input``.

        >>> import minidl as md
        >>> md.logcumsumexp(md.tensor([1000.0, 1000.0, -1000.0]), 0)
        tensor([1000.    , 1000.6932, 1000.6932])
    """
    _float_input(input, "logcumsumexp")
    return _on_scalar(lambda t, axis: LogCumSumExp.apply(t, axis), input, dim, "logcumsumexp")


# ---- diff ---------------------------------------------------------------------------------------


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] - x[i]``, applied ``n`` times,
    where ``x`` is ``input`` with ``prepend`` and ``append`` joined on along ``dim``.

    ``input`` of shape ``(..., L, ...)`` gives ``(..., L' - n, ...)`` with ``L'`` the joined length
    (empty when ``n >= L'``). For bools the difference is ``x[i + 1] != x[i]``. ``prepend`` and
    ``append`` must have ``input``'s number of dims and its shape except along ``dim``.

        >>> import minidl as md
        >>> md.diff(md.tensor([1.0, 4.0, 9.0, 16.0]), n=2)
        tensor([2., 2.])
    """
    if n < 0:
        raise ValueError(f"diff: the order n must be non-negative, got {n}")
    if input.ndim == 0:
        raise ValueError("diff: expects an input of at least one dimension, got a 0-d tensor")
    axis = _check_dim(dim, input.ndim, "diff")
    pieces = []
    for name, extra in (("prepend", prepend), (None, input), ("append", append)):
        if extra is None:
            continue
        if name is not None and extra.ndim != input.ndim:
            raise ValueError(f"diff: {name} must have as many dims as input ({input.ndim}), got {extra.ndim}")
        pieces.append(extra)
    x = cat(pieces, axis) if len(pieces) > 1 else input
    for _ in range(n):
        length = x.shape[axis]
        if length == 0:
            break
        later, earlier = x.narrow(axis, 1, length - 1), x.narrow(axis, 0, length - 1)
        x = logical_xor(later, earlier) if x.dtype.kind == "b" else later - earlier
    return x
