"""Datasets and batching: ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``,
``DataLoader``, the samplers and the collate functions, with PyTorch's names and semantics.

Example:
    >>> import numpy as np
    >>> from minidl.data import DataLoader, TensorDataset
    >>> x, y = np.zeros((5, 2), np.float32), np.arange(5)      # 5 samples: (5, 2) inputs, (5,) labels
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=2, shuffle=True, seed=0)
    >>> [tuple(labels.shape) for inputs, labels in loader]     # the last batch holds the remainder
    [(2,), (2,), (1,)]
"""

from minidl.data.collate import default_collate, default_convert
from minidl.data.dataloader import DataLoader
from minidl.data.dataset import (
    Dataset,
    Subset,
    TensorDataset,
    random_split,
    supports_batches,
)
from minidl.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "DataLoader",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "random_split",
    "supports_batches",
]
