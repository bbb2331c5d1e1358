"""Sorting and searching: sort, argsort, topk, kthvalue, median, unique, nonzero, bucketize, histc.

Every order here is one stable sort (``argsort(kind="stable")``), so ties keep their input order
and results are the same on every run and device. NaN counts as the largest value: last when
ascending, first when descending, as in PyTorch. Descending order is the ascending order of the
input flipped along ``dim``, mapped back (never a negation, which would break unsigned integers).

The ops that return values (sort, topk, kthvalue, median with ``dim``) find indices on the raw
array and then read the values with ``take_along_dim``, whose gradient (first and second) sends
each output's gradient back to the element it came from. The rest return integer or counting
results, which have no gradient.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor, _check_dim
from .indexing import take_along_dim
from .reduction import values_indices


def _stable_argsort(data: Any, axis: int) -> Any:
    xp = array_module(data)
    # CuPy's argsort is always stable, and older versions take no ``kind``.
    order = np.argsort(data, axis=axis, kind="stable") if xp is np else xp.argsort(data, axis=axis)
    return order.astype(dtypes.int64, copy=False)


def _stable_order(data: Any, axis: int, descending: bool) -> Any:
    """The permutation (int64) that stably sorts ``data`` along ``axis``, NaN as the largest value."""
    if not descending:
        return _stable_argsort(data, axis)
    # Ascending order of the flipped input, read backwards, is a descending order in which ties
    # (and NaNs) still come in input order; p -> n - 1 - p maps flipped positions back.
    xp = array_module(data)
    return data.shape[axis] - 1 - xp.flip(_stable_argsort(xp.flip(data, axis), axis), axis)


def _order(input: Tensor, dim: int, descending: bool, op: str) -> tuple[Tensor, int, Any]:
    """``input`` as at least 1-D, the checked ``dim``, and the stable sorting permutation along it."""
    if input.dtype.kind == "c":
        raise TypeError(f"{op}: complex tensors have no order; use the real part or .abs() first")
    axis = _check_dim(dim, input.ndim, op)
    work = input.reshape(1) if input.ndim == 0 else input
    return work, axis, _stable_order(work._data, axis, descending)


def _check_k(input: Tensor, k: int, dim: int, smallest: int, op: str) -> None:
    """``k`` within ``[smallest, size of dim]`` (a 0-d input counts as one element)."""
    axis = _check_dim(dim, input.ndim, op)
    size = input.shape[axis] if input.ndim else 1
    if not smallest <= k <= size:
        raise ValueError(
            f"{op}: k ({k}) is out of range for dimension {axis} of size {size} (expected {smallest} <= k <= {size})"
        )


def _take(work: Tensor, indices: Any, axis: int, shape: tuple) -> values_indices:
    """Values of ``work`` at ``indices`` along ``axis`` (differentiable), both reshaped to ``shape``."""
    values = take_along_dim(work, Tensor._make(indices), axis)
    return values_indices(values.reshape(shape), Tensor._make(indices.reshape(shape)))


def _pick_one(input: Tensor, work: Tensor, axis: int, order: Any, positions: Any, keepdim: bool) -> values_indices:
    """The element at sorted ``positions`` (keepdim layout) along ``axis``: kthvalue and median."""
    xp = array_module(order)
    indices = xp.take_along_axis(order, positions, axis=axis)
    if input.ndim == 0:
        shape: tuple = ()
    elif keepdim:
        shape = indices.shape
    else:
        shape = indices.shape[:axis] + indices.shape[axis + 1:]
    return _take(work, indices, axis, shape)


def _positions(order: Any, axis: int, position: Any) -> Any:
    """``position`` (an int, or an array in keepdim layout) as an int64 array in keepdim layout."""
    xp = array_module(order)
    shape = order.shape[:axis] + (1,) + order.shape[axis + 1:]
    return xp.broadcast_to(xp.asarray(position, dtype=dtypes.int64), shape)


# ---- sorting ---------------------------------------------------------------------------------


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> values_indices:
    """Sort along ``dim``: ``(values, indices)``, both of ``input``'s shape, ``input.gather(dim, indices) == values``.

    Always stable (``stable`` is accepted for PyTorch's signature); NaN sorts as the largest value.

        >>> import minidl as md
        >>> md.sort(md.tensor([3, 1, 2, 1]))
        values_indices(values=tensor([1, 1, 2, 3]), indices=tensor([1, 3, 2, 0]))
    """
    work, axis, order = _order(input, dim, descending, "sort")
    return _take(work, order, axis, input.shape)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (the ``indices`` of :func:`sort`).

        >>> import minidl as md
        >>> md.argsort(md.tensor([[0.5, -1.0, 2.0]]), descending=True)
        tensor([[2, 0, 1]])
    """
    _, _, order = _order(input, dim, descending, "argsort")
    return Tensor._make(order.reshape(input.shape))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> values_indices:
    """The ``k`` largest (or smallest) elements along ``dim``: ``(values, indices)``, ``k`` long in ``dim``.

    The result is always in sorted order, largest first (smallest first when ``largest=False``);
    among equal elements the first in ``input`` comes first.

        >>> import minidl as md
        >>> md.topk(md.tensor([1.0, 5.0, 3.0, 4.0]), 2)
        values_indices(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    _check_k(input, k, dim, 0, "topk")
    work, axis, order = _order(input, dim, largest, "topk")
    order = order[(slice(None),) * axis + (slice(0, k),)]
    return _take(work, order, axis, () if input.ndim == 0 and k == 1 else order.shape)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> values_indices:
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``, ``dim`` removed
    unless ``keepdim``. Among equal elements, the first in ``input`` counts as the smallest.

        >>> import minidl as md
        >>> md.kthvalue(md.tensor([[4.0, 1.0, 3.0], [0.0, 2.0, 9.0]]), 2)
        values_indices(values=tensor([3., 2.]), indices=tensor([2, 1]))
    """
    _check_k(input, k, dim, 1, "kthvalue")
    work, axis, order = _order(input, dim, False, "kthvalue")
    return _pick_one(input, work, axis, order, _positions(order, axis, k - 1), keepdim)


class MedianAll(Op):
    """The lower median of all elements, a 0-d array. As in PyTorch's ``median()``, elements equal
    to the median share its gradient evenly (the NaNs do, when a NaN makes the median NaN)."""

    op_name = "median"

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        ordered = xp.sort(x.reshape(-1))
        value = ordered[(x.size - 1) // 2]
        is_nan = x.dtype.kind == "f" and bool(xp.isnan(ordered[-1]))
        mask = xp.isnan(x) if is_nan else x == value
        ctx.save_for_backward(mask)
        ctx.count = int(mask.sum())
        return xp.asarray(ordered[-1] if is_nan else value)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask / ctx.count


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median: ``median(x)`` of all elements (0-d), ``median(x, dim)`` -> ``(values, indices)``.

    For an even count the smaller of the two middle elements is taken. A NaN makes the median NaN
    (with ``dim``, the index is that of the first NaN); ``nanmedian`` is not provided.

        >>> import minidl as md
        >>> md.median(md.tensor([4.0, 1.0, 3.0, 2.0]))
        tensor(2.)
        >>> md.median(md.tensor([[4.0, 1.0, 3.0], [0.0, 2.0, 9.0]]), dim=1)
        values_indices(values=tensor([3., 2.]), indices=tensor([2, 1]))
    """
    if input.dtype.kind == "c":
        raise TypeError("median: complex tensors have no order; use the real part or .abs() first")
    if dim is None:
        if input.numel() == 0:
            if input.dtype.kind != "f":
                raise ValueError(f"median: the input is empty (shape {tuple(input.shape)}) and not a float tensor")
            return Tensor._make(input._xp().asarray(float("nan"), dtype=input.dtype))
        return MedianAll.apply(input)
    size = input.shape[_check_dim(dim, input.ndim, "median")] if input.ndim else 1
    if size == 0:
        raise ValueError(f"median: dimension {dim} has size 0; it needs at least one element")
    work, axis, order = _order(input, dim, False, "median")
    xp = input._xp()
    position: Any = (size - 1) // 2
    if input.dtype.kind == "f":
        nan_count = xp.isnan(work._data).sum(axis=axis, keepdims=True)
        position = xp.where(nan_count > 0, size - nan_count, position)  # the first NaN, sorted last
    return _pick_one(input, work, axis, order, _positions(order, axis, position), keepdim)


# ---- searching and counting ------------------------------------------------------------------


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Any:
    """The distinct elements of ``input`` (1-D, ascending), or its distinct slices along ``dim``.

    ``return_inverse`` adds, for each element (each slice), its position in the result (int64, of
    ``input``'s shape; ``(input.shape[dim],)`` with ``dim``); ``return_counts`` adds how often each
    appears. Returns a tensor, or a tuple when either is asked for. The result is always sorted
    (slices lexicographically); as in PyTorch, every NaN is distinct (NaN != NaN).

        >>> import minidl as md
        >>> md.unique(md.tensor([3, 1, 3, 2]), return_inverse=True, return_counts=True)
        (tensor([1, 2, 3]), tensor([2, 0, 2, 1]), tensor([1, 1, 2]))
    """
    xp = input._xp()
    data = input._data
    if dim is None:
        rows = data.reshape(-1, 1)
    else:
        axis = _check_dim(dim, input.ndim, "unique")
        if input.numel() == 0 and input.shape[axis] != 0:
            raise ValueError(
                f"unique: a tensor of shape {tuple(input.shape)} has no elements to compare its slices along "
                f"dim {dim} by (a dimension other than dim has size 0)"
            )
        moved = xp.moveaxis(data.reshape(1) if input.ndim == 0 else data, axis, 0)
        rows = moved.reshape(moved.shape[0], math.prod(moved.shape[1:]))
    # Rows in lexicographic order: stable sorts by the last column first, then each earlier one.
    order = xp.arange(rows.shape[0], dtype=dtypes.int64)
    for column in range(rows.shape[1] - 1, -1, -1):
        order = order[_stable_order(rows[order, column], 0, False)]
    ordered = rows[order]
    starts = xp.ones(rows.shape[0], dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    group = xp.cumsum(starts) - 1
    if dim is None:
        output = ordered[starts, 0]
    else:
        distinct = ordered[starts]
        output = xp.moveaxis(distinct.reshape(distinct.shape[:1] + moved.shape[1:]), 0, axis)
    results = [Tensor._make(xp.ascontiguousarray(output))]
    if return_inverse:
        inverse = xp.empty(rows.shape[0], dtype=dtypes.int64)
        inverse[order] = group
        results.append(Tensor._make(inverse.reshape(input.shape) if dim is None else inverse))
    if return_counts:
        first = xp.flatnonzero(starts)
        ends = xp.concatenate([first[1:], xp.asarray([rows.shape[0]], dtype=first.dtype)])
        results.append(Tensor._make((ends - first).astype(dtypes.int64)))
    return results[0] if len(results) == 1 else tuple(results)


def nonzero(input: Tensor, as_tuple: bool = False) -> Any:
    """Indices of the non-zero elements, in row-major order: an int64 ``(count, ndim)`` tensor, or
    with ``as_tuple`` one 1-D int64 tensor of length ``count`` per dim (``input[result]`` picks them).

        >>> import minidl as md
        >>> md.nonzero(md.tensor([[0, 7], [5, 0]]))
        tensor([[0, 1],
                [1, 0]])
    """
    xp = input._xp()
    data = input._data
    if input.ndim == 0:  # as in PyTorch: a 0-d tensor acts as 1-D for as_tuple, as 0 dims otherwise
        found = xp.flatnonzero(data.reshape(1)).astype(dtypes.int64)
        if as_tuple:
            return (Tensor._make(found),)
        return Tensor._make(xp.zeros((found.size, 0), dtype=dtypes.int64))
    coordinates = [c.astype(dtypes.int64, copy=False) for c in xp.nonzero(data)]
    if as_tuple:
        return tuple(Tensor._make(c) for c in coordinates)
    return Tensor._make(xp.stack(coordinates, axis=1))


def bucketize(input: Any, boundaries: Tensor, out_int32: bool = False, right: bool = False) -> Tensor:
    """For each element ``x``, the index ``i`` of its bucket in the sorted 1-D ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]``, or ``boundaries[i-1] <= x < boundaries[i]`` when
    ``right``. The result has ``input``'s shape (0-d for a number), int64 (int32 with ``out_int32``).

        >>> import minidl as md
        >>> md.bucketize(md.tensor([0.5, 3.0, 9.0]), md.tensor([1.0, 3.0, 5.0]))
        tensor([0, 1, 3])
    """
    if not isinstance(boundaries, Tensor) or boundaries.ndim != 1:
        shape = tuple(boundaries.shape) if isinstance(boundaries, Tensor) else type(boundaries).__name__
        raise ValueError(f"bucketize: boundaries must be a 1-D tensor, got {shape}")
    xp = boundaries._xp()
    if isinstance(input, Tensor):
        if input._xp() is not xp:
            raise RuntimeError(
                f"bucketize: input is on {input.device} but boundaries on {boundaries.device}; move them together"
            )
        values = input._data
    else:
        values = xp.asarray(input)
    found = xp.searchsorted(boundaries._data, values, side="right" if right else "left")
    return Tensor._make(xp.asarray(found, dtype=dtypes.int32 if out_int32 else dtypes.int64))


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Histogram of all elements in ``bins`` equal-width bins over ``[min, max]``: a 1-D ``(bins,)``
    tensor of counts, in ``input``'s float dtype. Elements outside the range (and NaNs) are
    ignored; ``max`` itself falls in the last bin. ``min == max`` uses the data's smallest and
    largest elements (widened by 1 on both sides if those are equal too).

    An element ``x`` lands in bin ``int((x - min) * bins / (max - min))``, computed in ``input``'s
    dtype as PyTorch does on the CPU, so elements on a bin edge land where PyTorch puts them.

        >>> import minidl as md
        >>> md.histc(md.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=4)
        tensor([0., 2., 1., 1.])
    """
    if input.dtype.kind != "f":
        raise TypeError(f"histc needs a floating point tensor, got {input.dtype}; convert it with .float()")
    if bins <= 0:
        raise ValueError(f"histc: bins must be a positive number, got {bins}")
    xp = input._xp()
    data = input._data.reshape(-1)
    low, high = float(min), float(max)
    if low == high and data.size:
        low, high = float(data.min()), float(data.max())
    if low == high:
        low, high = low - 1, high + 1
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"histc: the range [{low}, {high}] is not finite (a NaN or infinity in the input?)")
    if low > high:
        raise ValueError(f"histc: max must be larger than min, got min={min} and max={max}")
    low_edge, high_edge = xp.asarray(low, dtype=input.dtype), xp.asarray(high, dtype=input.dtype)
    inside = data[(data >= low_edge) & (data <= high_edge)]
    position = ((inside - low_edge) * xp.asarray(bins, dtype=input.dtype) / (high_edge - low_edge)).astype(dtypes.int64)
    position = xp.minimum(position, bins - 1)  # max itself belongs to the last bin
    return Tensor._make(xp.bincount(position, minlength=bins).astype(input.dtype))
