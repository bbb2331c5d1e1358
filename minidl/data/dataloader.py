"""``DataLoader``: iterate over a dataset in (shuffled) batches.

Two ways to build a batch:

* fast: when ``collate_fn`` is the default and the dataset has ``get_batch(indices)``
  (``TensorDataset``, ``Subset`` of one, MNIST, QuickDraw, ...), the whole batch is one
  fancy index into the dataset's arrays, then converted to Tensors (``default_convert``);
* general: ``[dataset[i] for i in indices]`` (or ``dataset.__getitems__(indices)``, as
  in PyTorch) passed to ``collate_fn`` (``default_collate`` stacks them).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minidl.data.collate import default_collate, default_convert
from minidl.data.dataset import supports_batches
from minidl.data.seeding import make_generator


class DataLoader:
    """Batches of ``dataset``, reshuffled every epoch when ``shuffle`` is set.

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``).
        batch_size: samples per batch (>= 1).
        shuffle: visit samples in a new random order every epoch (every ``iter``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        collate_fn: list of samples -> batch; default :func:`default_collate`.
        generator: the ``np.random.Generator`` that draws the orders.
        seed: alternative to ``generator``: the loader makes its own from this seed.
            With neither, its seed is drawn once from minidl's global generator, so
            ``md.manual_seed`` before building the loader fixes every epoch's order.
        num_workers: accepted for PyTorch compatibility; loading always runs in the
            calling process.

    Every epoch visits each sample exactly once (minus the dropped tail).

    Example:
        >>> from minidl.data import TensorDataset
        >>> dataset = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
        >>> loader = DataLoader(dataset, batch_size=2, shuffle=True, seed=0)
        >>> for inputs, labels in loader:    # inputs (2, 2) float32, labels (2,) int64; the last batch is (1, 2)
        ...     print(labels)
        tensor([2, 4])
        tensor([3, 0])
        tensor([1])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        generator: np.random.Generator | None = None,
        seed: int | None = None,
        num_workers: int = 0,
    ) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if num_workers:
            warnings.warn(
                "minidl's DataLoader loads in the calling process; num_workers is ignored",
                stacklevel=2,
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.generator = make_generator(generator, seed) if shuffle else None
        self._gathers_batches = self.collate_fn is default_collate and supports_batches(dataset)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batch_indices(self) -> Iterator[np.ndarray]:
        """The index arrays of one epoch's batches (draws a new order if shuffling)."""
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size]

    def __iter__(self) -> Iterator[Any]:
        for indices in self.batch_indices():
            yield self.fetch(indices)

    def fetch(self, indices: np.ndarray) -> Any:
        """The batch of the samples at ``indices`` (what iteration yields for them)."""
        if self._gathers_batches:
            return default_convert(self.dataset.get_batch(indices))
        if callable(getattr(self.dataset, "__getitems__", None)):
            samples = self.dataset.__getitems__(indices.tolist())
        else:
            samples = [self.dataset[int(i)] for i in indices]
        return self.collate_fn(samples)
