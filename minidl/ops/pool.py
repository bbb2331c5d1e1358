"""Pooling kernels: max and average pooling over sliding windows, and the flat-index scatter
behind ``max_unpool2d`` and adaptive max pooling.

A pooling window is a strided view of the padded input (``sliding_windows`` from ``conv.py``,
``(N, C, kh, kw, Ho, Wo)``). Both directions loop over the ``kh*kw`` kernel offsets only, each
step one vectorised operation on an output-sized slice:

* ``SumWindowsOp(x, offsets)``: each window's sum, or, given ``offsets (N, C, Ho, Wo)``, only the
  element at that kernel offset (max pooling picks the argmax this way);
* ``SpreadWindowsOp(y, offsets)``: the adjoint, adding each output back onto its window (or onto
  the one element at its offset). Overlapping windows add up, without ``np.add.at``.

Each is the other's backward, so double backward comes free. Max pooling's argmax is kept as a
kernel offset per output (what the backward needs) and turned into PyTorch's flat ``h*W + w``
indices only when asked for (``return_indices=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..autograd.function import Op
from ..backend import array_module
from . import cpu_kernels
from .conv import pad_spatial, sliding_windows
from .indexing import scatter_add_flat


@dataclass(frozen=True)
class PoolGeometry:
    """``kernel_size``, ``stride``, ``padding (ph, pw)`` (both sides), ``dilation`` and ``ceil_mode``."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """PyTorch's rule: with ``ceil_mode`` the last window may hang over the end, but must start
        inside the input or its left padding."""
        out = []
        for n, k, s, p, d in zip(size, self.kernel_size, self.stride, self.padding, self.dilation):
            span = n + 2 * p - d * (k - 1) - 1
            length = (span + (s - 1 if self.ceil_mode else 0)) // s + 1
            if self.ceil_mode and (length - 1) * s >= n + p:
                length -= 1
            out.append(length)
        return tuple(out)

    def pads(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)``: the padding, and on the far side whatever the windows reach."""
        out_h, out_w = self.output_size(size)
        reach = [
            (o - 1) * s + d * (k - 1) + 1 - (n + p)
            for o, n, k, s, p, d in zip((out_h, out_w), size, self.kernel_size, self.stride, self.padding,
                                        self.dilation)
        ]
        return self.padding[0], max(reach[0], 0), self.padding[1], max(reach[1], 0)

    @property
    def overlapping(self) -> bool:
        return any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel_size, self.stride, self.dilation))


def _windows(x: Any, geometry: PoolGeometry, fill: float) -> Any:
    """The ``(N, C, kh, kw, Ho, Wo)`` window view of ``x`` padded with ``fill``."""
    size = x.shape[-2:]
    padded = pad_spatial(x, geometry.pads(size), fill)
    return sliding_windows(padded, geometry.kernel_size, geometry.stride, geometry.dilation,
                           geometry.output_size(size))


def _compiled_2x2(x: Any, geometry: PoolGeometry, size: tuple[int, int] | None = None) -> bool:
    """Whether ``cpu_kernels.max_pool_2x2`` applies: disjoint 2x2 windows on a NumPy array
    (``size``, the input's spatial size, when ``x`` is not the input)."""
    size = x.shape[-2:] if size is None else size
    return (geometry.kernel_size == geometry.stride == (2, 2) and geometry.padding == (0, 0)
            and geometry.dilation == (1, 1) and geometry.output_size(size) == (size[0] // 2, size[1] // 2)
            and cpu_kernels.enabled_for(x))


def _kernel_offsets(geometry: PoolGeometry):
    kernel_w = geometry.kernel_size[1]
    for offset in range(geometry.kernel_size[0] * kernel_w):
        yield offset, offset // kernel_w, offset % kernel_w


def max_windows(x: Any, geometry: PoolGeometry) -> tuple[Any, Any]:
    """Each window's max and the kernel offset ``i*kw + j`` of the first maximum in row-major scan
    order (PyTorch's choice). A NaN propagates to the value (its offset may differ from PyTorch's).

    Separable: the max along each window row first (``kw`` passes), then across the rows (``kh``
    passes), all with ``maximum``/``greater``/``where`` on strided slices. (Disjoint 2x2 windows
    of a NumPy array go through a compiled kernel in one pass, ``cpu_kernels.max_pool_2x2``, which
    also follows PyTorch in pointing at a NaN.)
    """
    xp = array_module(x)
    (kernel_h, kernel_w), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    out_h, out_w = geometry.output_size(x.shape[-2:])
    index_type = xp.int8 if kernel_h * kernel_w < 2**7 else xp.int16 if kernel_h * kernel_w < 2**15 else xp.int32
    if _compiled_2x2(x, geometry):
        return cpu_kernels.max_pool_2x2(x, index_type)
    padded = pad_spatial(x, geometry.pads(x.shape[-2:]), float("-inf"))
    row_best, row_offset = _running_max(
        [padded[..., j * dw:j * dw + (out_w - 1) * sw + 1:sw] for j in range(kernel_w)], None, xp, index_type)
    rows = [slice(i * dh, i * dh + (out_h - 1) * sh + 1, sh) for i in range(kernel_h)]
    offsets = None if row_offset is None else [row_offset[..., r, :] + index_type(i * kernel_w)
                                               for i, r in enumerate(rows)]
    best, offset = _running_max([row_best[..., r, :] for r in rows], offsets, xp, index_type, kernel_w)
    if offset is None:
        offset = xp.zeros(best.shape, dtype=index_type)
    return xp.ascontiguousarray(best), offset


def _running_max(candidates: list, offsets: list | None, xp: Any, index_type: Any, step: int = 1) -> tuple:
    """Elementwise max over ``candidates`` and, for each element, the offset of the first maximum:
    ``offsets[k]`` when given, else ``k * step``. ``None`` offset when there is only one candidate."""
    best = candidates[0]
    offset = None if offsets is None else offsets[0]
    for k in range(1, len(candidates)):
        better = candidates[k] > best
        if offset is None and k * step == 1 and index_type == xp.int8:
            offset = better.view(xp.int8)  # 0 or 1 already: no pass needed
        else:
            new_offset = index_type(k * step) if offsets is None else offsets[k]
            offset = xp.where(better, new_offset, index_type(0) if offset is None else offset).astype(index_type,
                                                                                                      copy=False)
        best = xp.maximum(best, candidates[k])
    return best, offset


def flat_indices(offsets: Any, geometry: PoolGeometry, size: tuple[int, int]) -> Any:
    """Kernel offsets ``(N, C, Ho, Wo)`` -> PyTorch's int64 indices ``h*W + w`` into each input plane."""
    xp = array_module(offsets)
    out_h, out_w = offsets.shape[-2:]
    kernel_w = geometry.kernel_size[1]
    (sh, sw), (ph, pw), (dh, dw) = geometry.stride, geometry.padding, geometry.dilation
    offsets = offsets.astype(xp.int64)
    rows = xp.arange(out_h, dtype=xp.int64)[:, None] * sh - ph + (offsets // kernel_w) * dh
    cols = xp.arange(out_w, dtype=xp.int64) * sw - pw + (offsets % kernel_w) * dw
    return rows * size[1] + cols


class MaxPool2dOp(Op):
    """``(values, offsets)``: each window's max and where it is; the gradient goes to that element."""

    op_name = "max_pool2d"

    @staticmethod
    def forward(ctx, x, geometry):
        values, offsets = max_windows(x, geometry)
        ctx.geometry, ctx.size = geometry, x.shape[-2:]
        ctx.save_for_backward(offsets)
        ctx.mark_non_differentiable(offsets)
        return values, offsets

    @staticmethod
    def backward(ctx, grad, _grad_offsets):
        (offsets,) = ctx.saved_tensors
        return SpreadWindowsOp.apply(grad, offsets._data, ctx.geometry, ctx.size), None


class SumWindowsOp(Op):
    """``(N, C, H, W)`` -> ``(N, C, Ho, Wo)``: each zero-padded window's sum, or only its element at
    ``offsets`` when given."""

    op_name = "sum_windows"

    @staticmethod
    def forward(ctx, x, offsets, geometry):
        xp = array_module(x)
        ctx.offsets, ctx.geometry, ctx.size = offsets, geometry, x.shape[-2:]
        windows = _windows(x, geometry, 0.0)
        out = xp.zeros(windows.shape[:2] + windows.shape[4:], dtype=x.dtype)
        for offset, i, j in _kernel_offsets(geometry):
            if offsets is None:
                out += windows[:, :, i, j]
            else:
                xp.copyto(out, windows[:, :, i, j], where=offsets == offset)
        return out

    @staticmethod
    def backward(ctx, grad):
        return SpreadWindowsOp.apply(grad, ctx.offsets, ctx.geometry, ctx.size), None, None


class SpreadWindowsOp(Op):
    """The adjoint of ``SumWindowsOp``: ``(N, C, Ho, Wo)`` added back onto each window of an
    ``(N, C, H, W)`` zero array (onto only the element at ``offsets`` when given).

    The selection multiplies by a 0/1 mask, so a non-finite value also turns the rest of its
    window into NaN (cheaper than ``where`` and irrelevant for finite gradients)."""

    op_name = "spread_windows"

    @staticmethod
    def forward(ctx, y, offsets, geometry, size):
        xp = array_module(y)
        ctx.offsets, ctx.geometry = offsets, geometry
        if offsets is not None and _compiled_2x2(y, geometry, size):
            return cpu_kernels.max_pool_2x2_backward(y, offsets, size)
        top, bottom, left, right = geometry.pads(size)
        out_h, out_w = y.shape[-2:]
        (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
        padded = xp.zeros(y.shape[:-2] + (size[0] + top + bottom, size[1] + left + right), dtype=y.dtype)
        for offset, i, j in _kernel_offsets(geometry):
            window = padded[..., slice(i * dh, i * dh + (out_h - 1) * sh + 1, sh),
                            slice(j * dw, j * dw + (out_w - 1) * sw + 1, sw)]
            if offsets is None:
                window += y
            elif geometry.overlapping:
                window += y * (offsets == offset)
            else:  # disjoint windows: write in place, no temporary
                xp.multiply(y, offsets == offset, out=window)
        if not (top or bottom or left or right):
            return padded
        return padded[..., top:top + size[0], left:left + size[1]].copy()

    @staticmethod
    def backward(ctx, grad):
        return SumWindowsOp.apply(grad, ctx.offsets, ctx.geometry), None, None, None


class PlaneScatterOp(Op):
    """``values (N, C, L)`` written at flat ``indices (N, C, L)`` into zero planes ``(N, C, size)``.

    ``accumulate=False`` writes (``max_unpool2d``); ``accumulate=True`` adds up duplicates (the
    backward of adaptive max pooling, whose windows may overlap). The gradient gathers back.
    """

    op_name = "plane_scatter"

    @staticmethod
    def forward(ctx, values, indices, size, accumulate):
        xp = array_module(values)
        n, channels, length = values.shape
        ctx.save_for_backward(indices)
        rows = xp.arange(n * channels, dtype=xp.int64)[:, None]
        if accumulate:
            flat = (rows * size + indices.reshape(n * channels, length)).reshape(-1)
            return scatter_add_flat(n * channels * size, flat, values).reshape(n, channels, size)
        out = xp.zeros((n * channels, size), dtype=values.dtype)
        out[rows, indices.reshape(n * channels, length)] = values.reshape(n * channels, length)
        return out.reshape(n, channels, size)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return grad.gather(2, indices), None, None, None


class AdaptiveMaxPool2dOp(Op):
    """Max over PyTorch's adaptive windows ``[floor(i*H/Ho), ceil((i+1)*H/Ho))``, which may differ in
    length and overlap: ``(values, flat indices)``.

    Each window is gathered padded to the longest one by repeating its last element (which never
    changes the max or the first argmax), so the whole pooling is one gather and one argmax.
    """

    op_name = "adaptive_max_pool2d"

    @staticmethod
    def forward(ctx, x, output_size):
        xp = array_module(x)
        height, width = x.shape[-2:]
        rows, cols = (_adaptive_window_indices(xp, n, out) for n, out in zip((height, width), output_size))
        windows = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, Ho, Wo, kh, kw)
        flat_windows = windows.reshape(windows.shape[:4] + (-1,))
        best = xp.argmax(flat_windows, axis=-1)[..., None]
        values = xp.take_along_axis(flat_windows, best, axis=-1)[..., 0]
        positions = (rows[:, None, :, None] * width + cols[None, :, None, :]).reshape(output_size + (-1,))
        indices = positions[xp.arange(output_size[0])[:, None], xp.arange(output_size[1]), best[..., 0]]
        ctx.size, ctx.input_shape = height * width, x.shape
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad, _grad_indices):
        (indices,) = ctx.saved_tensors
        n, channels = grad.shape[:2]
        planes = PlaneScatterOp.apply(grad.reshape(n, channels, -1), indices._data.reshape(n, channels, -1),
                                      ctx.size, True)
        return planes.reshape(ctx.input_shape), None


def _adaptive_window_indices(xp: Any, size: int, output_size: int) -> Any:
    """``(output_size, longest window)`` input positions of each adaptive window, each padded by
    repeating its last position."""
    starts = [(i * size) // output_size for i in range(output_size)]
    ends = [-((-(i + 1) * size) // output_size) for i in range(output_size)]
    longest = max(e - s for s, e in zip(starts, ends))
    steps = xp.arange(longest)[None, :]
    starts_array, ends_array = xp.asarray(starts)[:, None], xp.asarray(ends)[:, None]
    return xp.minimum(starts_array + steps, ends_array - 1)
