"""Indexing ops: ``x[key]``, ``x[key] = v``, gather/scatter, index_select, masked_fill, triu/tril, pad.

The backward of any read by index is a scatter-*add* (an element read twice gets both
gradients). ``scatter_add_flat`` does it with one ``bincount`` over flat indices, which is
fast and correct with duplicates; ``np.add.at`` would be orders of magnitude slower.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor, _check_dim
from .elementwise import where


def scatter_add_flat(size: int, flat_index: Any, values: Any) -> Any:
    """A length-``size`` vector with ``values[i]`` added at ``flat_index[i]`` (duplicates add up)."""
    xp = array_module(values)
    values = values.reshape(-1)
    flat_index = flat_index.reshape(-1)
    if values.dtype.kind == "c":
        real = xp.bincount(flat_index, weights=values.real, minlength=size)
        imag = xp.bincount(flat_index, weights=values.imag, minlength=size)
        return (real + 1j * imag).astype(values.dtype)
    return xp.bincount(flat_index, weights=values, minlength=size).astype(values.dtype, copy=False)


# ---- x[key] ----------------------------------------------------------------------------------


def _convert_key(key: Any, xp: Any) -> Any:
    """Tensors in an index become arrays; lists become integer/boolean arrays."""
    if isinstance(key, tuple):
        return tuple(_convert_key_item(k, xp) for k in key)
    return _convert_key_item(key, xp)


def _convert_key_item(item: Any, xp: Any) -> Any:
    if isinstance(item, Tensor):
        return item._data
    if isinstance(item, list):
        return xp.asarray(item)
    return item


def _is_basic(key: Any) -> bool:
    """True when the key has only ints, slices, None and Ellipsis (the result is a view)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, slice)) for item in items)


class GetItem(Op):
    op_name = "index"

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x.shape, key
        return x[key]

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.apply(grad, ctx.shape, ctx.key), None


class GetItemView(GetItem):
    is_view = True


class IndexAdd(Op):
    """The adjoint of ``x[key]``: zeros of ``shape`` with ``grad`` added at ``key``."""

    op_name = "index_backward"

    @staticmethod
    def forward(ctx, grad, shape, key):
        xp = array_module(grad)
        ctx.key = key
        if _is_basic(key):
            out = xp.zeros(shape, dtype=grad.dtype)
            out[key] = grad
            return out
        size = 1
        for s in shape:
            size *= s
        positions = xp.arange(size).reshape(shape)[key]
        return scatter_add_flat(size, positions, xp.broadcast_to(grad, positions.shape)).reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.key], None, None


def getitem(input: Tensor, key: Any) -> Tensor:
    """``x[key]`` with ints, slices, None, Ellipsis, integer/boolean arrays or tensors."""
    key = _convert_key(key, input._xp())
    if _is_basic(key):
        return GetItemView.apply(input, key)
    return GetItem.apply(input, key)


class IndexPut(Op):
    """``x[key] = v`` computed out of place: the result, and gradients for x and v."""

    op_name = "index_put"

    @staticmethod
    def forward(ctx, x, value, key):
        ctx.key = key
        out = x.copy()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx, grad):
        grad_x = grad_value = None
        if ctx.needs_input_grad[0]:
            mask = Tensor._make(grad._xp().ones(grad.shape, dtype=bool))
            mask._data[ctx.key] = False
            grad_x = grad * mask
        if ctx.needs_input_grad[1]:
            grad_value = grad[ctx.key]
        return grad_x, grad_value, None


def setitem(target: Tensor, key: Any, value: Any) -> None:
    """``target[key] = value`` in place, recorded in the graph when grad is needed."""
    key = _convert_key(key, target._xp())
    value_requires = isinstance(value, Tensor) and value._requires_grad

    def fast() -> None:
        target._data[key] = value._data if isinstance(value, Tensor) else value

    def compute(old: Tensor) -> Tensor:
        new = value if isinstance(value, Tensor) else Tensor._make(old._xp().asarray(value, dtype=old.dtype))
        if new.dtype != old.dtype:
            new = new.to(old.dtype)
        return IndexPut.apply(old, new, key)

    from ..autograd.grad_mode import _GradMode

    target._inplace("setitem", compute, None if value_requires and _GradMode.enabled else fast)


# ---- gather / scatter --------------------------------------------------------------------


def _coordinates(index: Any, axis: int) -> tuple:
    """Open grids for every dim of ``index``, with ``index`` itself standing for ``axis``."""
    xp = array_module(index)
    grids = []
    for d, size in enumerate(index.shape):
        if d == axis:
            grids.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = size
            grids.append(xp.arange(size).reshape(shape))
    return tuple(grids)


def _check_index(index: Any, input: Tensor, axis: int, op: str) -> None:
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    if index.ndim != input.ndim:
        raise RuntimeError(
            f"{op}: index has {index.ndim} dims but the input has {input.ndim}; they must have the same number"
        )
    for d, (i, s) in enumerate(zip(index.shape, input.shape)):
        if d != axis and i > s:
            raise RuntimeError(
                f"{op}: index shape {tuple(index.shape)} exceeds input shape {tuple(input.shape)} at dim {d}"
            )
    if index.size and (int(index.max()) >= input.shape[axis] or int(index.min()) < -input.shape[axis]):
        raise IndexError(
            f"{op}: index out of range for dim {axis} of size {input.shape[axis]} "
            f"(got values from {int(index.min())} to {int(index.max())})"
        )


class Scatter(Op):
    """``out = x.clone(); out[index-coordinates] = src`` (or ``+=`` when accumulating)."""

    @staticmethod
    def forward(ctx, x, axis, index, src, accumulate):
        xp = array_module(x)
        ctx.axis, ctx.accumulate = axis, accumulate
        ctx.save_for_backward(index)
        coords = _coordinates(index, axis)
        src_part = src[tuple(slice(0, s) for s in index.shape)] if src.ndim else xp.broadcast_to(src, index.shape)
        ctx.src_shape = src.shape
        if accumulate:
            flat = xp.ravel_multi_index(tuple(xp.broadcast_to(c, index.shape) for c in coords), x.shape, mode="wrap")
            return x + scatter_add_flat(x.size, flat, src_part).reshape(x.shape)
        out = x.copy()
        out[coords] = src_part
        return out

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        coords = _coordinates(index._data, ctx.axis)
        grad_x = grad_src = None
        if ctx.needs_input_grad[0]:
            if ctx.accumulate:
                grad_x = grad
            else:
                mask = Tensor._make(grad._xp().ones(grad.shape, dtype=bool))
                mask._data[coords] = False
                grad_x = grad * mask
        if ctx.needs_input_grad[3]:
            picked = grad.gather(ctx.axis, index)
            if picked.shape != ctx.src_shape:
                picked = pad(picked, _pad_to(picked.shape, ctx.src_shape))
            grad_src = picked
        return grad_x, None, None, grad_src, None


def _pad_to(shape: tuple, target: tuple) -> tuple:
    widths: list[int] = []
    for s, t in zip(reversed(shape), reversed(target)):
        widths += [0, t - s]
    return tuple(widths)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on): picks along ``dim``."""
    axis = _check_dim(dim, input.ndim, "gather")
    index_array = index._data if isinstance(index, Tensor) else input._xp().asarray(index)
    _check_index(index_array, input, axis, "gather")
    return GatherOp.apply(input, axis, index_array)


class GatherOp(Op):
    op_name = "gather"

    @staticmethod
    def forward(ctx, x, axis, index):
        ctx.shape, ctx.axis = x.shape, axis
        ctx.save_for_backward(index)
        return x[_coordinates(index, axis)]

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        zeros = Tensor._make(grad._xp().zeros(ctx.shape, dtype=grad.dtype))
        return Scatter.apply(zeros, ctx.axis, index._data, grad, True), None, None


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``.

    ``reduce='add'`` adds instead of writing (as ``scatter_add``).
    """
    if src is None:
        src = value
    axis = _check_dim(dim, input.ndim, "scatter")
    index_array = index._data if isinstance(index, Tensor) else input._xp().asarray(index)
    _check_index(index_array, input, axis, "scatter")
    if reduce not in (None, "add", "sum"):
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    if not isinstance(src, Tensor):
        src = Tensor._make(input._xp().asarray(src, dtype=input.dtype))
    else:
        if src.ndim != index_array.ndim or any(s < i for s, i in zip(src.shape, index_array.shape)):
            raise RuntimeError(
                f"scatter: src of shape {tuple(src.shape)} must be at least as large as index "
                f"{tuple(index_array.shape)} in every dim"
            )
        if src.dtype != input.dtype:
            src = src.to(input.dtype)
    return Scatter.apply(input, axis, index_array, src, reduce is not None)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (duplicates add up)."""
    return scatter(input, dim, index, src, reduce="add")


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """NumPy's ``take_along_axis``: ``indices`` broadcast against ``input`` except along ``dim``."""
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    axis = _check_dim(dim, input.ndim, "take_along_dim")
    index_array = indices._data if isinstance(indices, Tensor) else input._xp().asarray(indices)
    shape = [max(a, b) for a, b in zip(input.shape, index_array.shape)]
    input_shape, index_shape = list(shape), list(shape)
    input_shape[axis], index_shape[axis] = input.shape[axis], index_array.shape[axis]
    index_array = input._xp().broadcast_to(index_array, tuple(index_shape))
    return gather(input.expand(tuple(input_shape)), axis, Tensor._make(index_array))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at positions ``index`` (1-D) along ``dim``."""
    axis = _check_dim(dim, input.ndim, "index_select")
    index_array = index._data if isinstance(index, Tensor) else input._xp().asarray(index)
    if index_array.ndim > 1:
        raise RuntimeError(f"index_select: index must be 1-D, got shape {tuple(index_array.shape)}")
    return GetItem.apply(input, (slice(None),) * axis + (index_array.reshape(-1),))


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere (mask broadcasts)."""
    if isinstance(mask, Tensor) and mask.dtype != dtypes.bool_:
        raise RuntimeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
    if isinstance(value, Tensor):
        value = value.to(input.dtype)
    else:
        value = Tensor._make(input._xp().asarray(value, dtype=input.dtype))
    return where(mask, value, input)


class Triangle(Op):
    """Keep the upper (``triu``) or lower (``tril``) triangle of the last two dims."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        xp = array_module(x)
        return xp.triu(x, diagonal) if upper else xp.tril(x, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Triangle.apply(grad, ctx.diagonal, ctx.upper), None, None


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"triu: expected a tensor with at least 2 dims, got shape {tuple(input.shape)}")
    return Triangle.apply(input, diagonal, True)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"tril: expected a tensor with at least 2 dims, got shape {tuple(input.shape)}")
    return Triangle.apply(input, diagonal, False)


# ---- padding ---------------------------------------------------------------------------------

_NUMPY_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class Pad(Op):
    """Pad the last dims. Constant padding's backward is a slice; the other modes read inputs
    more than once, so their backward scatters through the source index of every output."""

    @staticmethod
    def forward(ctx, x, widths, mode, value):
        xp = array_module(x)
        ctx.shape, ctx.widths, ctx.mode = x.shape, widths, mode
        if mode == "constant":
            return xp.pad(x, widths, mode="constant", constant_values=value)
        return xp.pad(x, widths, mode=_NUMPY_PAD_MODES[mode])

    @staticmethod
    def backward(ctx, grad):
        if ctx.mode == "constant":
            key = tuple(slice(before, before + size) for (before, _), size in zip(ctx.widths, ctx.shape))
            return grad[key], None, None, None
        # Every output element copies one input element: find which, then scatter-add back.
        xp = grad._xp()
        size = 1
        for s in ctx.shape:
            size *= s
        sources = xp.pad(xp.arange(size).reshape(ctx.shape), ctx.widths, mode=_NUMPY_PAD_MODES[ctx.mode])
        return IndexAdd.apply(grad, ctx.shape, xp.unravel_index(sources, ctx.shape)), None, None, None


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``, last dim first.

    mode: ``'constant'`` (with ``value``), ``'reflect'``, ``'replicate'`` or ``'circular'``.
    """
    if len(pad) % 2:
        raise ValueError(f"pad: the padding must have an even length (pairs per dim), got {tuple(pad)}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: {len(pad) // 2} dims of padding for a tensor of {input.ndim} dims")
    if mode not in _NUMPY_PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_NUMPY_PAD_MODES)}, got {mode!r}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding is not supported, got {tuple(pad)}; slice the tensor instead")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "reflect":
        for (before, after), size in zip(widths, input.shape):
            if before >= size or after >= size:
                raise ValueError(
                    f"pad: reflect padding must be smaller than the dim it pads: {tuple(pad)} "
                    f"on shape {tuple(input.shape)}"
                )
    return Pad.apply(input, tuple(widths), mode, value)


# ---- compositions of the ops above ----------------------------------------------------------


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` (broadcast with ``input``) is True, as a 1-D tensor, in row-major order."""
    from .shape import broadcast_to

    xp = input._xp()
    shape = tuple(xp.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    if mask.dtype != dtypes.bool_:
        raise TypeError(f"masked_select: expected a bool mask, got {mask.dtype}")
    return getitem(broadcast_to(input, shape), broadcast_to(mask, shape)._data)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-D at ``index`` (any shape; negative counts from the end): the result has
    ``index``'s shape."""
    flat = input.reshape(-1)
    positions = index._data if isinstance(index, Tensor) else input._xp().asarray(index)
    size = flat.shape[0]
    if positions.size and (int(positions.min()) < -size or int(positions.max()) >= size):
        raise IndexError(f"take: index out of range for a tensor of {size} elements "
                         f"(got {int(positions.min())}..{int(positions.max())})")
    positions = positions % size if size else positions
    return index_select(flat, 0, Tensor._make(positions.reshape(-1))).reshape(tuple(positions.shape))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
    """``input`` with ``alpha * source`` added at ``index`` along ``dim`` (repeated indices add up):
    ``out[..., index[i], ...] += alpha * source[..., i, ...]``."""
    axis = _check_dim(dim, input.ndim, "index_add")
    if index.ndim != 1 or source.shape[axis] != index.shape[0]:
        raise ValueError(f"index_add: expected a 1-D index with one entry per slice of source along dim {dim}, got "
                         f"index {tuple(index.shape)} and source {tuple(source.shape)}")
    view = [1] * source.ndim
    view[axis] = index.shape[0]
    expanded = Tensor._make(input._xp().broadcast_to(index._data.reshape(view), tuple(source.shape)))
    return scatter_add(input, axis, expanded, source * alpha if alpha != 1 else source)
