"""Shape ops: reshape, permute, expand, repeat, flip, roll, cat/stack, split/chunk/unbind.

Most of these are views (they share storage with their input, as in PyTorch); their
backward is the inverse rearrangement of the gradient.
"""

from __future__ import annotations

from typing import Any, Sequence

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor, _check_dim


def _shape_arg(shape: tuple) -> tuple:
    """Accept both ``reshape(2, 3)`` and ``reshape((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _resolve_shape(shape: tuple, numel: int, op: str, input_shape: tuple) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError(f"{op}: only one dimension can be -1, got shape {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid size {s} in shape {shape}")
            known *= s
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {input_shape} ({numel} elements)")
        shape = shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"{op}: shape {shape} is invalid for input of shape {input_shape} ({numel} elements)")
    return shape


class Reshape(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Op):
    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.axes)
        for i, axis in enumerate(ctx.axes):
            inverse[axis] = i
        return grad.permute(*inverse), None


class Expand(Op):
    """A broadcast view; the engine's unbroadcasting sums the gradient back."""

    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        return array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class Repeat(Op):
    """``repeat(*reps)``: tile the tensor ``reps[i]`` times along dim i (``np.tile``)."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.shape, ctx.reps = x.shape, reps
        return array_module(x).tile(x, reps)

    @staticmethod
    def backward(ctx, grad):
        # grad has shape reps * shape: split each dim into (rep, size) and sum the reps away.
        shape = (1,) * (len(ctx.reps) - len(ctx.shape)) + tuple(ctx.shape)
        split = []
        for rep, size in zip(ctx.reps, shape):
            split += [rep, size]
        summed = grad.reshape(split).sum(tuple(range(0, len(split), 2)))
        return summed.reshape(ctx.shape), None


class Flip(Op):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return array_module(x).flip(x, axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.axes), None


class Roll(Op):
    @staticmethod
    def forward(ctx, x, shifts, axes):
        ctx.shifts, ctx.axes = shifts, axes
        return array_module(x).roll(x, shifts, axes)

    @staticmethod
    def backward(ctx, grad):
        negated = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return grad.roll(negated, ctx.axes), None, None


class Cat(Op):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.sizes, ctx.axis = [a.shape[axis] for a in arrays], axis
        return array_module(arrays[0]).concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return grad.split(ctx.sizes, ctx.axis)


class Split(Op):
    """Cut ``x`` into consecutive pieces of the given sizes along ``axis``: several outputs."""

    is_view = False

    @staticmethod
    def forward(ctx, x, sizes, axis):
        ctx.axis = axis
        bounds, start = [], 0
        for size in sizes:
            bounds.append((start, start + size))
            start += size
        index = [slice(None)] * x.ndim
        pieces = []
        for begin, end in bounds:
            index[axis] = slice(begin, end)
            pieces.append(x[tuple(index)])
        return tuple(pieces)

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.axis), None, None


# ---- public functions ---------------------------------------------------------------------


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dim may be -1). A view when the layout allows."""
    shape = _resolve_shape(_shape_arg(shape), input.numel(), "reshape", input.shape)
    if shape == input.shape:
        return input
    return Reshape.apply(input, shape)


def view(input: Tensor, *shape: Any) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)):
        return input.to(shape[0])  # view(dtype) is a reinterpretation in PyTorch; a cast here
    return reshape(input, *shape)


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    if input.ndim == 0:
        return input.reshape(1)
    start = _check_dim(start_dim, input.ndim, "flatten")
    end = _check_dim(end_dim, input.ndim, "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = input.shape
    return reshape(input, shape[:start] + (_product(shape[start:end + 1]),) + shape[end + 1:])


def _product(values: Sequence[int]) -> int:
    result = 1
    for v in values:
        result *= v
    return result


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one may be -1)."""
    axis = _check_dim(dim, input.ndim, "unflatten")
    sizes = _resolve_shape(tuple(sizes), input.shape[axis], "unflatten", input.shape)
    return reshape(input, input.shape[:axis] + sizes + input.shape[axis + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Remove dims of size 1 (all of them, or those in ``dim``)."""
    if dim is None:
        return reshape(input, tuple(s for s in input.shape if s != 1))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    axes = {_check_dim(d, input.ndim, "squeeze") for d in dims}
    return reshape(input, tuple(s for i, s in enumerate(input.shape) if not (i in axes and s == 1)))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim`` (negative counts from the end of the result)."""
    axis = _check_dim(dim, input.ndim + 1, "unsqueeze")
    return reshape(input, input.shape[:axis] + (1,) + input.shape[axis:])


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder dims: ``x.permute(0, 2, 3, 1)`` turns NCHW into NHWC."""
    dims = _shape_arg(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute: got {len(dims)} dims {dims} for a tensor of {input.ndim} dimensions")
    axes = tuple(_check_dim(d, input.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"permute: repeated dim in {dims}")
    if axes == tuple(range(input.ndim)):
        return input
    return Permute.apply(input, axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    axes = list(range(input.ndim))
    a, b = _check_dim(dim0, input.ndim, "transpose"), _check_dim(dim1, input.ndim, "transpose")
    axes[a], axes[b] = axes[b], axes[a]
    return permute(input, *axes)


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix: (n, m) -> (m, n). 0-D and 1-D tensors come back unchanged, as in PyTorch.

    >>> import minidl as md
    >>> md.ones(2, 3).t().shape
    (3, 2)
    """
    if input.ndim > 2:
        raise RuntimeError(
            f"t: expected a tensor of at most 2 dimensions, got one of shape {tuple(input.shape)}; "
            "use transpose(dim0, dim1), or .mT to swap the last two dims"
        )
    return transpose(input, 0, 1) if input.ndim == 2 else input


def movedim(input: Tensor, source: int, destination: int) -> Tensor:
    axes = list(range(input.ndim))
    src = _check_dim(source, input.ndim, "movedim")
    dst = _check_dim(destination, input.ndim, "movedim")
    axes.remove(src)
    axes.insert(dst, src)
    return permute(input, *axes)


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to a larger shape without copying; -1 keeps a dim's size."""
    sizes = _shape_arg(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"expand: the shape {sizes} has fewer dims than the tensor's {tuple(input.shape)}")
    lead = len(sizes) - input.ndim
    shape = tuple(
        input.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes)
    )
    for i, s in enumerate(input.shape):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(
                f"expand: the tensor of shape {tuple(input.shape)} can't be expanded to {sizes}: "
                f"dim {i} has size {s}, which is neither 1 nor {shape[lead + i]}"
            )
    if shape == input.shape:
        return input
    return Expand.apply(input, shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, tuple(shape))


def repeat(input: Tensor, *repeats: Any) -> Tensor:
    """Tile: ``x.repeat(2, 1)`` stacks two copies along dim 0 (PyTorch's ``repeat``)."""
    reps = _shape_arg(repeats)
    if len(reps) < input.ndim:
        raise RuntimeError(
            f"repeat: the number of repeats ({len(reps)}) can't be smaller than the number of dims ({input.ndim})"
        )
    return Repeat.apply(input, reps)


def tile(input: Tensor, *dims: Any) -> Tensor:
    """Like ``repeat``, but missing leading repeats count as 1."""
    reps = _shape_arg(dims)
    reps = (1,) * (input.ndim - len(reps)) + reps
    return Repeat.apply(input, reps)


def flip(input: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims)
    axes = tuple(_check_dim(d, input.ndim, "flip") for d in dims)
    return Flip.apply(input, axes)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically along ``dims`` (the flattened tensor when None)."""
    if dims is None:
        return Roll.apply(input.flatten(), shifts, None).reshape(input.shape)
    if isinstance(dims, int):
        return Roll.apply(input, shifts, _check_dim(dims, input.ndim, "roll"))
    return Roll.apply(input, tuple(shifts), tuple(_check_dim(d, input.ndim, "roll") for d in dims))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other dims must match."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of tensors")
    reference = tensors[0]
    axis = _check_dim(dim, reference.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != reference.ndim or any(
            a != b for k, (a, b) in enumerate(zip(t.shape, reference.shape)) if k != axis
        ):
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dim {dim}: tensor 0 has shape "
                f"{tuple(reference.shape)}, tensor {i} has shape {tuple(t.shape)}"
            )
    dtype = reference.dtype
    for t in tensors[1:]:
        dtype = dtypes.promote(dtype, t.dtype)
    tensors = [t.to(dtype) for t in tensors]
    return Cat.apply(*tensors, axis=axis)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of one shape along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {tuple(tensors[0].shape)} at entry 0 "
                f"and {tuple(t.shape)} at entry {i}"
            )
    axis = _check_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([t.unsqueeze(axis) for t in tensors], axis)


def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
    axis = _check_dim(dim, input.ndim, "split")
    length = input.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, length - start) for start in range(0, length, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length:
            raise RuntimeError(
                f"split: sizes {sizes} add up to {sum(sizes)}, but dim {dim} has size {length}"
            )
    if len(sizes) == 1:
        return (input,)
    return Split.apply(input, tuple(sizes), axis)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of equal size (the last may be smaller)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk: expected chunks > 0, got {chunks}")
    length = input.shape[_check_dim(dim, input.ndim, "chunk")]
    return split(input, max(-(-length // chunks), 1), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """All slices along ``dim``, with that dim removed."""
    axis = _check_dim(dim, input.ndim, "unbind")
    if input.shape[axis] == 1:
        return (input.squeeze(axis),)
    return tuple(piece.squeeze(axis) for piece in Split.apply(input, (1,) * input.shape[axis], axis))


# ---- compositions of the ops above ----------------------------------------------------------


def moveaxis(input: Tensor, source: int, destination: int) -> Tensor:
    """Alias of ``movedim``."""
    return movedim(input, source, destination)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view ``input[..., start:start + length, ...]`` along ``dim`` (``start`` may be negative)."""
    axis = _check_dim(dim, input.ndim, "narrow")
    size = input.shape[axis]
    begin = start + size if start < 0 else start
    if not 0 <= begin <= size or length < 0 or begin + length > size:
        raise IndexError(f"narrow: start {start} and length {length} are out of range for dim {dim} of size {size}")
    return input[(slice(None),) * axis + (slice(begin, begin + length),)]


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1 (along dim 0 for 1-D tensors)."""
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 0, 1-D (and 0-d) tensors first made rows ``(1, N)``."""
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by ``k`` quarter turns in the plane of ``dims``, from the first axis towards the second."""
    if len(dims) != 2 or input.ndim < 2:
        raise ValueError(f"rot90: expected two dims of a tensor of at least 2 dims, got dims {tuple(dims)} "
                         f"for shape {tuple(input.shape)}")
    first, second = (_check_dim(d, input.ndim, "rot90") for d in dims)
    if first == second:
        raise ValueError(f"rot90: the two dims must differ, got {tuple(dims)}")
    k %= 4
    if k == 1:
        return transpose(flip(input, second), first, second)
    if k == 2:
        return flip(input, first, second)
    if k == 3:
        return flip(transpose(input, first, second), second)
    return input


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors ``(N1,), (N2,), ...``: each output ``(N1, N2, ...)`` (with
    ``indexing='xy'`` the first two dims swapped, ``(N2, N1, ...)``), as broadcast views."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise ValueError(f"meshgrid: expected 0-D or 1-D tensors, got shapes {[tuple(t.shape) for t in tensors]}")
    sizes = [t.numel() for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[i] for i in order)
    grids = []
    for i, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[order.index(i)] = sizes[i]
        grids.append(t.reshape(view).expand(shape))
    return tuple(grids)


def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (along ``dim``; of the flattened input when None) repeated ``repeats`` times, an
    int or a 1-D tensor of one count per element: ``[a, b]`` with 2 -> ``[a, a, b, b]``."""
    from .indexing import index_select

    if dim is None:
        input, dim = input.reshape(-1), 0
    axis = _check_dim(dim, input.ndim, "repeat_interleave")
    xp = input._xp()
    counts = repeats._data if isinstance(repeats, Tensor) else repeats
    size = input.shape[axis]
    counts = xp.asarray(counts, dtype=dtypes.int64)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, size)) or bool((counts < 0).any()):
        raise ValueError(f"repeat_interleave: repeats must be a non-negative int or a 1-D tensor of {size} counts, "
                         f"got {tuple(counts.shape)}-shaped {counts.tolist() if counts.size < 10 else '...'}")
    index = xp.repeat(xp.arange(size), xp.broadcast_to(counts, (size,)))
    if output_size is not None and output_size != index.shape[0]:
        raise ValueError(f"repeat_interleave: output_size {output_size} does not match the {index.shape[0]} repeats")
    return index_select(input, axis, Tensor._make(index))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``input[..., i, i + offset]`` of the planes ``(dim1, dim2)``, moved to the last dim."""
    first, second = _check_dim(dim1, input.ndim, "diagonal"), _check_dim(dim2, input.ndim, "diagonal")
    if first == second:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
    planes = permute(input, *[d for d in range(input.ndim) if d not in (first, second)], first, second)
    rows, cols = planes.shape[-2:]
    start_row, start_col = max(-offset, 0), max(offset, 0)
    length = max(min(rows - start_row, cols - start_col), 0)
    xp = input._xp()
    row_index = xp.arange(start_row, start_row + length)
    return planes[..., row_index, row_index - start_row + start_col]


_diagonal = diagonal  # diag's argument is also called diagonal, as in PyTorch


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D ``(n,)`` -> the square matrix with it on the ``diagonal``-th diagonal; 2-D -> that diagonal."""
    if input.ndim == 2:
        return _diagonal(input, diagonal)
    if input.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(input.shape)}")
    n = input.shape[0]
    size = n + abs(diagonal)
    xp = input._xp()
    rows = xp.arange(n) + max(-diagonal, 0)
    positions = Tensor._make(rows * size + rows - max(-diagonal, 0) + max(diagonal, 0))
    return input.new_zeros(size * size).scatter(0, positions, input).reshape(size, size)
