"""DataLoader: every sample once per epoch, seeded shuffles, drop_last, both batch paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.data import DataLoader, Dataset, Subset, TensorDataset, default_collate


class Rows(Dataset):
    """Sample i is (row i of a table, i): no get_batch, so batches go through collate_fn."""

    def __init__(self, n: int) -> None:
        self.table = np.arange(n * 3, dtype=np.float32).reshape(n, 3)

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        return self.table[index], index


def as_list(samples):
    return [index for _, index in samples]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 60),
    batch_size=st.integers(1, 17),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_every_sample_exactly_once_per_epoch(n, batch_size, shuffle, drop_last, seed):
    loader = DataLoader(Rows(n), batch_size, shuffle, drop_last=drop_last, collate_fn=as_list, seed=seed)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        seen = [index for batch in batches for index in batch]
        assert all(len(batch) == batch_size for batch in batches[:-1])
        if drop_last:
            assert all(len(batch) == batch_size for batch in batches)
            assert len(seen) == n - n % batch_size
            assert len(set(seen)) == len(seen)
        else:
            assert sorted(seen) == list(range(n))
        if not shuffle:
            assert seen == list(range(len(seen)))


def test_len_and_drop_last():
    assert len(DataLoader(Rows(10), batch_size=3)) == 4
    assert len(DataLoader(Rows(10), batch_size=3, drop_last=True)) == 3
    assert [len(b) for b in DataLoader(Rows(10), 4, collate_fn=as_list)] == [4, 4, 2]
    assert [len(b) for b in DataLoader(Rows(10), 4, drop_last=True, collate_fn=as_list)] == [4, 4]


def test_same_seed_same_orders_and_epochs_differ():
    def epochs(loader):
        return [[i for batch in loader for i in batch] for _ in range(3)]

    first = epochs(DataLoader(Rows(50), 8, shuffle=True, collate_fn=as_list, seed=7))
    second = epochs(DataLoader(Rows(50), 8, shuffle=True, collate_fn=as_list, seed=7))
    other = epochs(DataLoader(Rows(50), 8, shuffle=True, collate_fn=as_list, seed=8))
    assert first == second
    assert first != other
    assert first[0] != first[1]
    assert first[0] != list(range(50))


def test_generator_argument_is_used():
    a = DataLoader(Rows(30), 30, shuffle=True, collate_fn=as_list, generator=np.random.default_rng(3))
    b = DataLoader(Rows(30), 30, shuffle=True, collate_fn=as_list, generator=np.random.default_rng(3))
    assert next(iter(a)) == next(iter(b)) == np.random.default_rng(3).permutation(30).tolist()
    with pytest.raises(ValueError, match="either generator or seed"):
        DataLoader(Rows(3), shuffle=True, generator=np.random.default_rng(), seed=1)


def test_default_seed_follows_minidl_manual_seed():
    pytest.importorskip("minidl.random")
    import minidl as md

    def first_epoch():
        return [i for batch in DataLoader(Rows(40), 5, True, collate_fn=as_list) for i in batch]

    md.manual_seed(123)
    first = first_epoch()
    md.manual_seed(123)
    assert first_epoch() == first
    md.manual_seed(124)
    assert first_epoch() != first


def test_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(Rows(3), batch_size=0)


def test_getitems_is_used_like_pytorch():
    class Batched(Rows):
        calls = []

        def __getitems__(self, indices):
            self.calls.append(list(indices))
            return [self[i] for i in indices]

    data = Batched(5)
    assert list(DataLoader(data, 2, collate_fn=as_list)) == [[0, 1], [2, 3], [4]]
    assert data.calls == [[0, 1], [2, 3], [4]]


class CountingTensorDataset(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.batch_calls = 0
        self.item_calls = 0

    def __getitem__(self, index):
        self.item_calls += 1
        return super().__getitem__(index)

    def get_batch(self, indices):
        self.batch_calls += 1
        return super().get_batch(indices)


def test_fast_path_gathers_whole_batches_and_matches_the_slow_path():
    pytest.importorskip("minidl.tensor")
    import minidl as md

    x = np.random.default_rng(0).random((23, 1, 4, 4)).astype(np.float32)
    y = np.arange(23)
    data = CountingTensorDataset(x, y)
    fast = list(DataLoader(Subset(data, np.arange(20, -1, -1)), 4, shuffle=True, seed=1))
    assert data.batch_calls == 6 and data.item_calls == 0
    slow = list(DataLoader(Subset(Rows(0), []), 1))  # empty loader yields nothing
    assert slow == []
    # Any collate_fn other than the default itself takes the sample-by-sample path.
    slow = list(
        DataLoader(
            Subset(data, np.arange(20, -1, -1)), 4, shuffle=True, seed=1, collate_fn=lambda s: default_collate(s)
        )
    )
    assert data.item_calls == 21
    for (fx, fy), (sx, sy) in zip(fast, slow, strict=True):
        assert isinstance(fx, md.Tensor) and isinstance(fy, md.Tensor)
        assert fx.shape == sx.shape and fx.dtype == np.float32 and fy.dtype == np.int64
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
        np.testing.assert_array_equal(fx.numpy(), x[fy.numpy()])


def test_num_workers_is_accepted_with_a_warning():
    with pytest.warns(UserWarning, match="num_workers is ignored"):
        DataLoader(Rows(3), num_workers=2)
