"""Samplers: the order in which a ``DataLoader`` visits a dataset, with PyTorch's names and semantics.

A sampler is an iterable of dataset indices (``__iter__``) that knows how many it yields
(``__len__``); a batch sampler yields lists of indices, one list per batch::

    loader = DataLoader(dataset, batch_size=64, sampler=WeightedRandomSampler(weights, len(dataset)))
    loader = DataLoader(dataset, batch_sampler=BatchSampler(SequentialSampler(dataset), 64, drop_last=True))

The random samplers draw from a NumPy ``Generator``: the one given, or one made from ``seed``, or
one seeded once from minidl's global generator (so ``md.manual_seed`` before building the sampler
fixes every epoch). Each ``iter`` is a new epoch with new draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from typing import Any

import numpy as np

from minidl.data.seeding import make_generator


class Sampler:
    """Base class: subclasses define ``__iter__`` (the indices) and usually ``__len__``."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


def _positive_int(value: Any, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who}: {name} should be a positive integer, got {value!r}")
    return int(value)


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, every epoch."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``data_source``'s indices every epoch.

    Without ``replacement``: a permutation (``num_samples`` larger than the dataset chains
    permutations); with it, ``num_samples`` independent uniform draws. ``num_samples`` defaults to
    ``len(data_source)``.

        >>> sampler = RandomSampler(range(5), seed=0)
        >>> sorted(sampler) == [0, 1, 2, 3, 4]
        True
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: np.random.Generator | None = None, *, seed: int | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean, got {replacement!r}")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples = None if num_samples is None else _positive_int(num_samples, "num_samples",
                                                                           "RandomSampler")
        self.generator = make_generator(generator, seed)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.replacement:
            return iter(self.generator.integers(0, n, size=self.num_samples).tolist())
        rounds = -(-self.num_samples // n) if n else 0
        order = np.concatenate([self.generator.permutation(n) for _ in range(rounds)]) if rounds else np.arange(0)
        return iter(order[:self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order every epoch (e.g. a validation split).

        >>> sorted(SubsetRandomSampler([7, 3, 9], seed=0))
        [3, 7, 9]
    """

    def __init__(self, indices: Iterable[int], generator: np.random.Generator | None = None, *,
                 seed: int | None = None) -> None:
        self.indices = list(indices)
        self.generator = make_generator(generator, seed)

    def __iter__(self) -> Iterator[int]:
        return iter([self.indices[i] for i in self.generator.permutation(len(self.indices))])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (one non-negative
    weight per sample): the usual way to rebalance classes, e.g. ``weights = 1 / class_count[labels]``.
    Without ``replacement`` an index is drawn at most once per epoch.

        >>> sampler = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4, seed=0)
        >>> 0 in list(sampler)                       # weight 0: never drawn
        False
    """

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 generator: np.random.Generator | None = None, *, seed: int | None = None) -> None:
        self.num_samples = _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        if not isinstance(replacement, bool):
            raise TypeError(f"WeightedRandomSampler: replacement should be a boolean, got {replacement!r}")
        weights = np.asarray(weights.numpy() if hasattr(weights, "numpy") else weights, dtype=np.float64)
        if weights.ndim != 1 or not weights.size:
            raise ValueError(f"WeightedRandomSampler: weights should be a non-empty 1-D sequence, got shape "
                             f"{weights.shape}")
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights should be finite, non-negative and not all zero")
        if not replacement and self.num_samples > np.count_nonzero(weights):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples without replacement "
                             f"from {np.count_nonzero(weights)} non-zero weights")
        self.weights, self.replacement = weights, replacement
        self.generator = make_generator(generator, seed)

    def __iter__(self) -> Iterator[int]:
        drawn = self.generator.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                                      p=self.weights / self.weights.sum())
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one shorter, or
    dropped with ``drop_last``).

        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last should be a boolean, got {drop_last!r}")
        self.sampler, self.drop_last = sampler, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(int(index))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
