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
from minidl.data.sampler import BatchSampler
from minidl.data.seeding import make_generator


class DataLoader:
    """Batches of ``dataset``, reshuffled every epoch when ``shuffle`` is set.

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``).
        batch_size: samples per batch (>= 1).
        shuffle: visit samples in a new random order every epoch (every ``iter``).
        sampler: the order of the samples instead (``minidl.data.sampler``: ``RandomSampler``,
            ``WeightedRandomSampler``, ``SubsetRandomSampler``, ... or any iterable of indices
            with a length); not with ``shuffle``.
        batch_sampler: the batches themselves (lists of indices, e.g. a ``BatchSampler``); not
            with ``batch_size``, ``shuffle``, ``sampler`` or ``drop_last``.
        num_workers: accepted for PyTorch compatibility (with a warning); loading always runs
            in the calling process.
        collate_fn: list of samples -> batch; default :func:`default_collate`.
        pin_memory: accepted for PyTorch compatibility; no effect (batches go to the GPU with
            ``.to(device)``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        worker_init_fn: accepted for PyTorch compatibility; never called, as in PyTorch with
            ``num_workers=0``.
        generator: the ``np.random.Generator`` that draws the orders (``shuffle=True``).
        seed: alternative to ``generator``: the loader makes its own from this seed.
            With neither, its seed is drawn once from minidl's global generator, so
            ``md.manual_seed`` before building the loader fixes every epoch's order.

    Without a sampler, every epoch visits each sample exactly once (minus the dropped tail).

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
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        worker_init_fn: Callable[[int], None] | None = None,
        generator: np.random.Generator | None = None,
        *,
        seed: int | None = None,
    ) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, shuffle, "
                             "sampler, and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle; "
                             "use RandomSampler for a shuffled order")
        if (sampler is not None or batch_sampler is not None) and (generator is not None or seed is not None):
            raise ValueError("DataLoader: generator and seed draw shuffle=True's orders; give the sampler its own")
        if num_workers:
            warnings.warn(
                "minidl's DataLoader loads in the calling process; num_workers is ignored",
                stacklevel=2,
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.pin_memory, self.worker_init_fn = pin_memory, worker_init_fn
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        if sampler is not None or batch_sampler is not None:  # what a resumable loader saves and restores
            drawing = getattr(batch_sampler, "sampler", None) if sampler is None else sampler
            self.generator = getattr(drawing, "generator", None)
        else:
            self.generator = make_generator(generator, seed) if shuffle else None
        self._gathers_batches = self.collate_fn is default_collate and supports_batches(dataset)

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batch_indices(self) -> Iterator[np.ndarray]:
        """The index arrays of one epoch's batches (draws a new order if shuffling or sampling)."""
        if self.batch_sampler is not None or self.sampler is not None:
            batches = self.batch_sampler
            if batches is None:
                batches = BatchSampler(self.sampler, self.batch_size, self.drop_last)
            for batch in batches:
                yield np.asarray(batch, dtype=np.int64)
            return
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
