"""Dataset, TensorDataset, Subset and random_split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.data import Dataset, Subset, TensorDataset, random_split, supports_batches


class Squares(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int) -> int:
        return index * index


def test_base_class_asks_for_the_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


def test_tensor_dataset_rows_and_batches():
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10) * 10
    data = TensorDataset(x, y)
    assert len(data) == 10
    row, label = data[3]
    np.testing.assert_array_equal(row, [6.0, 7.0])
    assert label == 30
    rows, labels = data.get_batch(np.array([9, 0, 9]))
    np.testing.assert_array_equal(rows, x[[9, 0, 9]])
    np.testing.assert_array_equal(labels, [90, 0, 90])
    assert supports_batches(data) and not supports_batches(Squares())


def test_tensor_dataset_checks_lengths():
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_tensor_dataset_of_minidl_tensors():
    pytest.importorskip("minidl.tensor")
    import minidl as md

    x = md.from_numpy(np.arange(12.0).reshape(6, 2))
    data = TensorDataset(x, np.arange(6))
    rows, labels = data.get_batch(np.array([5, 1]))
    assert isinstance(rows, md.Tensor)
    np.testing.assert_array_equal(rows.numpy(), [[10.0, 11.0], [2.0, 3.0]])


def test_subset_indexes_through():
    subset = Subset(Squares(), [9, 2, 4])
    assert len(subset) == 3 and [subset[i] for i in range(3)] == [81, 4, 16]
    assert not supports_batches(subset)
    data = TensorDataset(np.arange(10) * 2)
    nested = Subset(Subset(data, [1, 3, 5, 7]), [3, 0])
    assert supports_batches(nested)
    np.testing.assert_array_equal(nested.get_batch(np.array([0, 1]))[0], [14, 2])


@given(st.integers(0, 200), st.lists(st.integers(0, 50), min_size=1, max_size=5), st.integers(0, 2**32))
def test_random_split_counts_partition_the_dataset(n, weights, seed):
    total = sum(weights)
    if total == 0:
        return
    lengths = [w * n // total for w in weights]
    lengths[0] += n - sum(lengths)
    parts = random_split(TensorDataset(np.arange(n)), lengths, np.random.default_rng(seed))
    assert [len(part) for part in parts] == lengths
    assert sorted(np.concatenate([part.indices for part in parts]).tolist()) == list(range(n))


def test_random_split_fractions_and_determinism():
    data = TensorDataset(np.arange(11))
    parts = random_split(data, [0.5, 0.3, 0.2], np.random.default_rng(0))
    assert [len(part) for part in parts] == [6, 3, 2]  # floors 5, 3, 2; the remainder goes first
    again = random_split(data, [0.5, 0.3, 0.2], np.random.default_rng(0))
    for a, b in zip(parts, again, strict=True):
        np.testing.assert_array_equal(a.indices, b.indices)
    other = random_split(data, [0.5, 0.3, 0.2], np.random.default_rng(1))
    assert any(not np.array_equal(a.indices, b.indices) for a, b in zip(parts, other, strict=True))


def test_random_split_rejects_bad_lengths():
    with pytest.raises(ValueError, match="do not add up"):
        random_split(TensorDataset(np.arange(5)), [2, 2])
    with pytest.raises(ValueError, match="fractions summing to 1"):
        random_split(TensorDataset(np.arange(5)), [0.5, 0.2])
