"""Resampling along the spatial dims of ``(N, C, ...)`` tensors: nearest and (bi)linear.

Both are separable: one pass per spatial axis, each a gather of source rows (``index_select``)
and, for linear modes, a weighted sum of two gathers. Built from differentiable tensor ops, so
gradients of any order come from those ops' own backwards. The source positions follow
PyTorch's formulas, in PyTorch's precision (float32, or float64 for float64 linear weights):

* nearest: ``src = min(floor(dst * scale), in - 1)``
* linear, ``align_corners=False``: ``src = max(scale * (dst + 0.5) - 0.5, 0)``
* linear, ``align_corners=True``: ``src = dst * (in - 1) / (out - 1)``

where ``scale = 1 / scale_factor`` when a scale factor was given, else ``in / out``.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _scale(in_size: int, out_size: int, scale_factor: float | None, dtype: type = np.float32) -> np.floating:
    if scale_factor is not None and scale_factor > 0:
        return dtype(1.0 / scale_factor)
    return dtype(in_size) / dtype(out_size)


def nearest_source_indices(in_size: int, out_size: int, scale_factor: float | None) -> np.ndarray:
    """For each output position, the input position it copies (int64, ``(out_size,)``)."""
    if out_size == in_size:
        return np.arange(out_size)
    if out_size == 2 * in_size:
        return np.arange(out_size) // 2
    positions = np.floor(np.arange(out_size, dtype=np.float32) * _scale(in_size, out_size, scale_factor))
    return np.minimum(positions.astype(np.int64), in_size - 1)


def linear_source_weights(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool,
                          dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(index0, index1, weight0, weight1)``: output ``i`` is ``w0[i]*x[i0[i]] + w1[i]*x[i1[i]]``.

    ``dtype`` is the precision of the arithmetic (float64 for float64 tensors, else float32).
    """
    destination = np.arange(out_size, dtype=dtype)
    if align_corners:
        scale = dtype((in_size - 1) / (out_size - 1)) if out_size > 1 else dtype(0)
        source = destination * scale
    else:
        source = np.maximum(_scale(in_size, out_size, scale_factor, dtype) * (destination + dtype(0.5))
                            - dtype(0.5), dtype(0))
    index0 = source.astype(np.int64)
    index1 = index0 + (index0 < in_size - 1)
    weight1 = np.clip(source - index0.astype(dtype), dtype(0), dtype(1))
    return index0, index1, dtype(1) - weight1, weight1


def _to_device(array: np.ndarray, like: Tensor, dtype: object = None) -> Tensor:
    xp = like._xp()
    return Tensor._make(xp.asarray(array if dtype is None else array.astype(dtype)))


def upsample_nearest(x: Tensor, size: tuple[int, ...], scale_factors: tuple[float | None, ...]) -> Tensor:
    """``x (N, C, *in)`` -> ``(N, C, *size)`` by nearest neighbour; whole-number upscaling is a
    broadcast (``expand``) instead of a gather."""
    spatial = x.shape[2:]
    indices = [nearest_source_indices(i, o, s) for i, o, s in zip(spatial, size, scale_factors)]
    factors = [o // i if o % i == 0 else 0 for i, o in zip(spatial, size)]
    if all(f and np.array_equal(index, np.arange(o) // f) for f, index, o in zip(factors, indices, size)):
        interleaved = x.shape[:2] + sum(((n, 1) for n in spatial), ())
        expanded = x.shape[:2] + sum(((n, f) for n, f in zip(spatial, factors)), ())
        return x.reshape(interleaved).expand(expanded).reshape(x.shape[:2] + tuple(size))
    out = x
    for axis, (index, in_size, out_size) in enumerate(zip(indices, spatial, size), start=2):
        if out_size != in_size or not np.array_equal(index, np.arange(out_size)):
            out = out.index_select(axis, _to_device(index, x))
    return out


def upsample_linear(x: Tensor, size: tuple[int, ...], scale_factors: tuple[float | None, ...],
                    align_corners: bool) -> Tensor:
    """``x (N, C, *in)`` -> ``(N, C, *size)`` by (bi)linear interpolation, last axis first."""
    out = x
    spatial = x.shape[2:]
    precision = np.float64 if x.dtype == np.float64 else np.float32
    for axis in reversed(range(2, x.ndim)):
        in_size, out_size = spatial[axis - 2], size[axis - 2]
        index0, index1, weight0, weight1 = linear_source_weights(in_size, out_size, scale_factors[axis - 2],
                                                                 align_corners, precision)
        trailing = (1,) * (x.ndim - 1 - axis)
        weight0 = _to_device(weight0.reshape((-1,) + trailing), x, x.dtype)
        weight1 = _to_device(weight1.reshape((-1,) + trailing), x, x.dtype)
        out = (out.index_select(axis, _to_device(index0, x)) * weight0
               + out.index_select(axis, _to_device(index1, x)) * weight1)
    return out
