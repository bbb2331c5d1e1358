"""Map-style datasets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split``.

A dataset is anything with ``__len__`` and ``__getitem__(i) -> sample``. A dataset that
can also gather many samples with one fancy index defines ``get_batch(indices)``,
returning the batch already stacked (same structure as one sample, with a leading batch
axis); the DataLoader then skips stacking sample by sample. ``TensorDataset``, ``Subset``
of such a dataset and the image datasets in ``minidl.datasets`` all do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minidl.data.seeding import make_generator


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and
    ``__len__``, and optionally ``get_batch(indices)`` (see the module docstring).

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 10
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> squares = Squares()
        >>> len(squares), squares[3]
        (10, 9)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def supports_batches(dataset: Any) -> bool:
    """Whether ``dataset.get_batch(indices)`` gathers a batch in one go."""
    if isinstance(dataset, Subset):
        return supports_batches(dataset.dataset)
    return callable(getattr(dataset, "get_batch", None))


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of equally long Tensors or arrays.

    Args:
        *tensors: minidl Tensors or NumPy arrays, all with the same first dimension N.

    ``dataset[i]`` is ``tuple(t[i] for t in tensors)``; ``get_batch(indices)`` is
    ``tuple(t[indices] for t in tensors)``, one fancy index per tensor.

    Example:
        >>> ds = TensorDataset(np.zeros((100, 3), np.float32), np.arange(100))
        >>> x, y = ds[5]
        >>> x.shape, int(y)
        ((3,), 5)
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [tensor.shape[0] for tensor in tensors]
        if any(size != sizes[0] for size in sizes):
            raise ValueError(f"TensorDataset tensors differ in their first dimension: {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        return tuple(tensor[index] for tensor in self.tensors)

    def get_batch(self, indices: np.ndarray) -> tuple[Any, ...]:
        """Rows ``indices`` of every tensor: each (B, *rest)."""
        return tuple(tensor[indices] for tensor in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> dataset = TensorDataset(np.arange(10))
        >>> evens = Subset(dataset, range(0, len(dataset), 2))
        >>> len(evens), int(evens[3][0])
        (5, 6)
    """

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        """The underlying dataset's batch at ``self.indices[indices]``."""
        return self.dataset.get_batch(self.indices[indices])


def random_split(
    dataset: Any,
    lengths: Sequence[int | float],
    generator: np.random.Generator | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1; as in
    PyTorch, fractional sizes are floored and the remainder is handed out one sample at a
    time to the subsets in order. ``generator`` defaults to a generator seeded from
    minidl's global one.

    Example:
        >>> dataset = TensorDataset(np.arange(10))
        >>> train, val = random_split(dataset, [0.8, 0.2], np.random.default_rng(0))
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    if all(isinstance(length, (int, np.integer)) for length in lengths):
        counts = [int(length) for length in lengths]
    elif math.isclose(sum(lengths), 1.0) and all(0 <= length <= 1 for length in lengths):
        counts = [math.floor(n * fraction) for fraction in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        raise ValueError(f"lengths must be counts or fractions summing to 1, got {lengths}")
    if any(count < 0 for count in counts) or sum(counts) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the dataset's {n} samples")
    order = make_generator(generator).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]
