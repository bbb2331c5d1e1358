"""Datasets and batching: ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``,
``DataLoader`` and the collate functions, with PyTorch's names and semantics.

Example:
    >>> from minidl.data import DataLoader, TensorDataset
    >>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
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

__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "default_convert",
    "random_split",
    "supports_batches",
]
