"""Variable-length sequences for the recurrent layers (``nn.utils.rnn``), as in PyTorch.

A batch of sequences of different lengths is either *padded*, one (T, B, *) tensor with the
short sequences filled up (``pad_sequence``), or *packed*, a ``PackedSequence`` holding only
the valid steps. The packed ``data`` is time-major over the sequences sorted by decreasing
length: step 0 of every sequence, then step 1 of those at least 2 long, and so on::

    sequences  a = [a0, a1, a2], b = [b0], c = [c0, c1]      (sorted: a, c, b)
    data        = [a0, c0, b0, a1, c1, a2]                   (N, *)   N = the sum of the lengths
    batch_sizes = [3, 2, 1]                                  how many sequences are still running at t
    sorted_indices = [0, 2, 1], unsorted_indices = [0, 2, 1] (its inverse)

``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` take a ``PackedSequence`` and return one, with each
sequence's final state taken at its own last step. Every function here is a gather by index
(one minidl op), so gradients flow between the padded and the packed forms both ways::

    packed = pack_padded_sequence(padded, lengths, enforce_sorted=False)
    output, h_n = gru(packed)
    output, lengths = pad_packed_sequence(output, batch_first=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import creation, dtypes
from ...ops.shape import cat
from ...tensor import Tensor


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """The valid steps of a batch of variable-length sequences, time-major (see the module docstring).

    Fields:
        data: (N, *) every sequence's valid steps, N = the sum of the lengths.
        batch_sizes: (T,) int64 on the CPU: how many sequences are at least t + 1 long, non-increasing.
        sorted_indices: (B,) int64, the original batch index of each sorted column, or None when
            the batch was already sorted by decreasing length.
        unsorted_indices: (B,) int64, the inverse permutation (computed when only sorted_indices is given).

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import pack_sequence
    >>> packed = pack_sequence([md.tensor([1, 2, 3]), md.tensor([4]), md.tensor([5, 6])], enforce_sorted=False)
    >>> packed.data, packed.batch_sizes
    (tensor([1, 5, 4, 2, 6, 3]), tensor([3, 2, 1]))
    >>> packed.sorted_indices, packed.unsorted_indices
    (tensor([0, 2, 1]), tensor([0, 2, 1]))
    """

    __slots__ = ()

    def __new__(cls, data: Tensor, batch_sizes: Tensor, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the indices follow data to its device, batch_sizes stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def follow(indices: Tensor | None) -> Tensor | None:
            return None if indices is None else indices.to(data.device)

        return type(self)(data, self.batch_sizes, follow(self.sorted_indices), follow(self.unsorted_indices))

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> PackedSequence:
        return self.to(self.data.cuda(device).device)

    def double(self) -> PackedSequence:
        return self.to(dtypes.float64)

    def float(self) -> PackedSequence:
        return self.to(dtypes.float32)

    def half(self) -> PackedSequence:
        return self.to(dtypes.float16)

    def long(self) -> PackedSequence:
        return self.to(dtypes.int64)

    def int(self) -> PackedSequence:
        return self.to(dtypes.int32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _invert_permutation(permutation: Tensor) -> Tensor:
    order = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order), dtype=np.int64)
    return creation.tensor(inverse, device=permutation.device)


def _cpu_int64(values: np.ndarray) -> Tensor:
    return creation.from_numpy(np.ascontiguousarray(values, dtype=np.int64))


def _on_device_of(reference: Tensor, array: np.ndarray) -> Tensor:
    """An int64 index array as a tensor on ``reference``'s device (where the gather runs)."""
    return creation.tensor(array, dtype=dtypes.int64, device=reference.device)


def _host_ints(values: Any, function: str, label: str) -> np.ndarray:
    """A 1-D int64 NumPy copy of a list, array or tensor of integers."""
    array = np.asarray(values.tolist() if isinstance(values, Tensor) else values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"{function}: {label} must be a 1-D sequence of ints, got {values!r}")
    return array.astype(np.int64)


def _packed_rows(batch_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every row of packed data, its step t and its column j in the sorted batch."""
    steps = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    offsets = np.cumsum(batch_sizes) - batch_sizes
    return steps, np.arange(len(steps)) - offsets[steps]


def _gather_with_padding(values: Tensor, rows: np.ndarray, padding_value: float) -> Tensor:
    """``values[rows]`` where a row index of ``len(values)`` reads ``padding_value`` (differentiable)."""
    padding = creation.full((1, *values.shape[1:]), padding_value, dtype=values.dtype, device=values.device)
    return cat([values, padding], 0)[_on_device_of(values, rows)]


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of lengths L_i, each (L_i, *), into one (T, B, *) tensor, T = max L_i.

    The short sequences are filled with ``padding_value`` after their end (``padding_side='right'``)
    or before their start (``'left'``). Returns (B, T, *) with ``batch_first``.

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import pad_sequence
    >>> pad_sequence([md.tensor([1, 2, 3]), md.tensor([4])], batch_first=True)
    tensor([[1, 2, 3],
            [4, 0, 0]])
    >>> pad_sequence([md.tensor([1, 2, 3]), md.tensor([4])], batch_first=True, padding_side="left")
    tensor([[1, 2, 3],
            [0, 0, 4]])
    """
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences; give at least one")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    trailing = tuple(sequences[0].shape[1:])
    for index, sequence in enumerate(sequences):
        if sequence.ndim == 0 or tuple(sequence.shape[1:]) != trailing:
            raise ValueError(
                f"pad_sequence: every sequence must be (L, *{trailing}) like the first, but sequence {index} "
                f"has shape {tuple(sequence.shape)}"
            )
    lengths = np.array([sequence.shape[0] for sequence in sequences], dtype=np.int64)
    longest = int(lengths.max())
    starts = np.cumsum(lengths) - lengths  # where each sequence begins in the joined rows
    position = np.arange(longest)[:, None] - (longest - lengths if padding_side == "left" else 0)  # (T, B)
    valid = (position >= 0) & (position < lengths)
    rows = np.where(valid, starts + position, lengths.sum())
    return _gather_with_padding(cat(sequences, 0), rows.T if batch_first else rows, padding_value)


def pack_padded_sequence(input: Tensor, lengths: Sequence[int] | Tensor, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) ((B, T, *) with ``batch_first``) whose sequence b has ``lengths[b]`` steps.

    With ``enforce_sorted`` the lengths must be non-increasing (``sorted_indices`` is then None);
    otherwise the batch is sorted by decreasing length (stably) and the order kept in the result.
    Steps past a sequence's length are left out, whatever they hold.

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import pack_padded_sequence
    >>> padded = md.tensor([[1, 2, 3], [4, 5, 0]])          # (B, T) = (2, 3)
    >>> packed = pack_padded_sequence(padded, [3, 2], batch_first=True)
    >>> packed.data, packed.batch_sizes
    (tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
    """
    name = "pack_padded_sequence"
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError(f"{name}: input must be a (T, B, *) or batch_first (B, T, *) tensor, got {input!r}")
    lengths = _host_ints(lengths, name, "lengths")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if len(lengths) != batch:
        raise ValueError(f"{name}: expected len(lengths) to be the batch size {batch}, got {len(lengths)}")
    if np.any(lengths <= 0):
        raise ValueError(f"{name}: every sequence length must be greater than 0, got lengths {lengths.tolist()}")
    if np.any(lengths > steps):
        raise ValueError(
            f"{name}: a length exceeds the {steps} padded steps of input ({'batch_first ' if batch_first else ''}"
            f"shape {tuple(input.shape)}), got lengths {lengths.tolist()}"
        )
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise ValueError(
                f"{name}: lengths must be sorted in decreasing order when enforce_sorted=True, got "
                f"{lengths.tolist()}; pass enforce_sorted=False to have the batch sorted for you"
            )
        order, sorted_indices = np.arange(batch), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _on_device_of(input, order)
    batch_sizes = (lengths[order][None, :] > np.arange(int(lengths.max()))[:, None]).sum(axis=1)
    row_steps, columns = _packed_rows(batch_sizes)
    batch_index = _on_device_of(input, order[columns])
    step_index = _on_device_of(input, row_steps)
    data = input[batch_index, step_index] if batch_first else input[step_index, batch_index]
    return PackedSequence(data, _cpu_int64(batch_sizes), sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: returns (padded (T, B, *), lengths (B,) int64 on the CPU).

    The batch is back in its original order; T is the longest length, or ``total_length`` when
    given (useful to pad back to the input's length in a ``DataParallel``-style split).
    Returns (B, T, *) with ``batch_first``.

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import pack_sequence, pad_packed_sequence
    >>> packed = pack_sequence([md.tensor([1, 2]), md.tensor([3, 4, 5])], enforce_sorted=False)
    >>> pad_packed_sequence(packed, batch_first=True, padding_value=-1, total_length=4)
    (tensor([[ 1,  2, -1, -1],
            [ 3,  4,  5, -1]]), tensor([2, 3]))
    """
    name = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{name}: expected a PackedSequence, got {type(sequence).__name__}")
    batch_sizes = _host_ints(sequence.batch_sizes, name, "batch_sizes")
    longest, batch = len(batch_sizes), int(batch_sizes[0])
    if total_length is not None:
        if total_length < longest:
            raise ValueError(
                f"{name}: expected total_length to be at least the length of the longest sequence, "
                f"got total_length={total_length} and a longest sequence of {longest}"
            )
        longest = total_length
    sorted_lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    columns = np.arange(batch)  # column j of the result is sorted column columns[j]
    if sequence.unsorted_indices is not None:
        columns = _host_ints(sequence.unsorted_indices, name, "unsorted_indices")
    offsets = np.zeros(longest, dtype=np.int64)
    offsets[:len(batch_sizes)] = np.cumsum(batch_sizes) - batch_sizes
    steps = np.arange(longest)[:, None]
    valid = steps < sorted_lengths[columns]
    rows = np.where(valid, offsets[:, None] + columns, len(sequence.data))  # (T, B)
    padded = _gather_with_padding(sequence.data, rows.T if batch_first else rows, padding_value)
    return padded, _cpu_int64(sorted_lengths[columns])


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences, each (L_i, *): ``pack_padded_sequence(pad_sequence(sequences), lengths)``.

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import pack_sequence
    >>> pack_sequence([md.tensor([1, 2, 3]), md.tensor([4, 5]), md.tensor([6])]).data
    tensor([1, 4, 6, 2, 5, 3])
    """
    sequences = list(sequences)
    lengths = [sequence.shape[0] if sequence.ndim else 0 for sequence in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Sequence[int] | Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Split a padded batch (T, B, *) ((B, T, *) with ``batch_first``) into B tensors (lengths[b], *).

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import unpad_sequence
    >>> unpad_sequence(md.tensor([[1, 2, 3], [4, 0, 0]]), [3, 1], batch_first=True)
    [tensor([1, 2, 3]), tensor([4])]
    """
    lengths = _host_ints(lengths, "unpad_sequence", "lengths")
    batch = padded_sequences.shape[0 if batch_first else 1]
    if len(lengths) != batch:
        raise ValueError(f"unpad_sequence: expected len(lengths) to be the batch size {batch}, got {len(lengths)}")
    if batch_first:
        return [padded_sequences[b, :int(length)] for b, length in enumerate(lengths)]
    return [padded_sequences[:int(length), b] for b, length in enumerate(lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo :func:`pack_sequence`: the list of sequences, each (L_i, *), in their original order.

    >>> import minidl as md
    >>> from minidl.nn.utils.rnn import pack_sequence, unpack_sequence
    >>> unpack_sequence(pack_sequence([md.tensor([1]), md.tensor([2, 3])], enforce_sorted=False))
    [tensor([1]), tensor([2, 3])]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
