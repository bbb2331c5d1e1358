"""ResumableLoader: a loader's shuffle state and position in the epoch, saved and restored."""

import numpy as np
import pytest

import minidl as md
from minidl.data import DataLoader, Dataset, TensorDataset
from minidl.training import ResumableLoader


def make_loader(seed=3, size=23, batch_size=4, shuffle=True):
    dataset = TensorDataset(md.arange(size))
    return ResumableLoader(DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, seed=seed))


def epoch_batches(loader):
    return [batch[0].numpy().tolist() for batch in loader]


def test_resume_mid_epoch_gives_the_same_batches():
    reference = make_loader()
    expected = [epoch_batches(reference) for _ in range(3)]
    assert expected[0] != expected[1]  # a new order every epoch

    loader = make_loader()
    assert epoch_batches(loader) == expected[0]
    iterator = iter(loader)
    seen = [next(iterator)[0].numpy().tolist() for _ in range(2)]
    state = loader.state_dict()
    assert state["batches_done"] == 2 and seen == expected[1][:2]

    resumed = make_loader(seed=99)  # a different seed: the state dict decides the order
    resumed.load_state_dict(state)
    assert epoch_batches(resumed) == expected[1][2:]
    assert epoch_batches(resumed) == expected[2]


def test_state_between_epochs_starts_the_next_epoch():
    reference = make_loader()
    expected = [epoch_batches(reference) for _ in range(2)]
    loader = make_loader()
    epoch_batches(loader)
    state = loader.state_dict()
    assert state["batches_done"] == 0
    resumed = make_loader(seed=5)
    resumed.load_state_dict(state)
    assert epoch_batches(resumed) == expected[1]


def test_state_taken_at_the_last_batch_finishes_the_epoch_empty():
    reference = make_loader()
    expected = [epoch_batches(reference) for _ in range(2)]
    loader = make_loader()
    for _ in loader:
        state = loader.state_dict()  # inside the loop body of the last batch: the epoch is still running
    assert state["batches_done"] == len(loader) == 6
    resumed = make_loader(seed=5)
    resumed.load_state_dict(state)
    assert epoch_batches(resumed) == []
    assert epoch_batches(resumed) == expected[1]


class CountingDataset(Dataset):
    """Counts the samples actually loaded."""

    def __init__(self):
        self.loaded = 0

    def __len__(self):
        return 10

    def __getitem__(self, index):
        self.loaded += 1
        return np.float32(index)


def test_skipped_batches_are_not_loaded():
    dataset = CountingDataset()
    loader = ResumableLoader(DataLoader(dataset, batch_size=2, shuffle=True, seed=0))
    loader.load_state_dict({"generator": loader.state_dict()["generator"], "batches_done": 3})
    assert len(list(loader)) == 2 and dataset.loaded == 4


def test_unshuffled_loader_and_mismatch():
    plain = make_loader(shuffle=False)
    assert epoch_batches(plain)[0] == [0, 1, 2, 3]
    iterator = iter(plain)
    next(iterator)
    state = plain.state_dict()
    resumed = make_loader(shuffle=False)
    resumed.load_state_dict(state)
    assert epoch_batches(resumed)[0] == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="differ in shuffling"):
        make_loader(shuffle=True).load_state_dict(state)
