"""Turning samples into batches: ``default_collate`` stacks a list of samples,
``default_convert`` converts an already-gathered batch of arrays. Both return minidl
Tensors for arrays and numbers and keep the structure (tuples and lists become lists,
dicts stay dicts), as PyTorch's functions of the same names do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _tensor_type() -> type | None:
    try:
        from minidl.tensor import Tensor
    except ImportError:
        return None
    return Tensor


def _from_numpy(array: np.ndarray) -> Any:
    import minidl

    return minidl.from_numpy(np.ascontiguousarray(array))


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch.

    Arrays (shape S) become a Tensor (B, *S); Tensors are stacked with ``md.stack``;
    Python ints become int64, floats float64 and bools bool Tensors (B,); strings stay a
    list; tuples/lists of fields become a list of collated fields; dicts a dict.

    Example:
        >>> images, labels = default_collate([(np.zeros((1, 28, 28)), 3)] * 8)
        >>> images.shape, labels.dtype
        ((8, 1, 28, 28), dtype('int64'))
    """
    if len(batch) == 0:
        raise ValueError("default_collate got an empty batch")
    elem = batch[0]
    tensor_type = _tensor_type()
    if tensor_type is not None and isinstance(elem, tensor_type):
        import minidl

        return minidl.stack(list(batch))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OUS":
            raise TypeError(f"default_collate cannot batch arrays of dtype {elem.dtype}")
        return _from_numpy(np.stack(batch))
    if isinstance(elem, (bool, np.bool_)):
        return _from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(elem, (int, np.integer)):
        return _from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(elem, (float, np.floating)):
        dtype = elem.dtype if isinstance(elem, np.floating) else np.float64
        return _from_numpy(np.array(batch, dtype=dtype))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise ValueError("default_collate: samples in a batch have different lengths")
        return [default_collate(list(field)) for field in zip(*batch, strict=True)]
    raise TypeError(
        f"default_collate cannot batch samples of type {type(elem).__name__}; pass a collate_fn to the DataLoader"
    )


def default_convert(batch: Any) -> Any:
    """Convert an already-batched structure: arrays to Tensors (sharing memory), Tensors
    and other leaves unchanged, tuples/lists to lists, dicts to dicts.

    Example:
        >>> images, labels = default_convert((np.zeros((8, 1, 28, 28)), np.arange(8)))
    """
    if isinstance(batch, np.ndarray):
        return batch if batch.dtype.kind in "OUS" else _from_numpy(batch)
    if isinstance(batch, Mapping):
        return {key: default_convert(value) for key, value in batch.items()}
    if isinstance(batch, (tuple, list)):
        return [default_convert(value) for value in batch]
    return batch
