"""Samplers (minidl/data/sampler.py) and the DataLoader's sampler/batch_sampler options: the
deterministic ones index for index against PyTorch's; the random ones by their defining properties
(a permutation, the weights' proportions, reproducibility), since the two libraries' random
streams differ."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)
from minidl.training import ResumableLoader


@requires_torch
@pytest.mark.parametrize("size, batch_size, drop_last", [(10, 3, False), (10, 3, True), (6, 2, True), (1, 4, False)])
def test_sequential_and_batch_samplers_match_torch(size, batch_size, drop_last):
    data = range(size)
    ours = BatchSampler(SequentialSampler(data), batch_size, drop_last)
    theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(data), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_random_sampler_draws_a_new_permutation_each_epoch_reproducibly():
    sampler = RandomSampler(range(20), seed=3)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    assert list(RandomSampler(range(20), seed=3)) == first


def test_random_sampler_num_samples_and_replacement():
    chained = list(RandomSampler(range(4), num_samples=10, seed=0))  # 2.5 permutations
    assert len(chained) == 10 and sorted(chained[:4]) == sorted(chained[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=300, seed=0))
    assert len(drawn) == 300 and set(drawn) == {0, 1, 2}


def test_subset_random_sampler_permutes_its_indices():
    sampler = SubsetRandomSampler([10, 20, 30, 40], seed=1)
    epochs = [list(sampler) for _ in range(5)]
    assert all(sorted(e) == [10, 20, 30, 40] for e in epochs) and len({tuple(e) for e in epochs}) > 1


def test_weighted_sampler_follows_the_weights():
    weights = np.array([0.0, 1.0, 2.0, 7.0])
    drawn = np.array(list(WeightedRandomSampler(weights, 20000, seed=0)))
    frequencies = np.bincount(drawn, minlength=4) / drawn.size
    np.testing.assert_allclose(frequencies, weights / weights.sum(), atol=0.01)
    once = list(WeightedRandomSampler(md.tensor([1.0, 1.0, 5.0, 0.0]), 3, replacement=False, seed=0))
    assert sorted(once) == [0, 1, 2]  # without replacement: each non-zero weight once


def test_loader_with_a_sampler_rebalances_classes():
    labels = np.array([0] * 90 + [1] * 10)
    dataset = TensorDataset(np.zeros((100, 2), np.float32), labels)
    weights = 1.0 / np.bincount(labels)[labels]
    md.manual_seed(0)
    loader = DataLoader(dataset, batch_size=50, sampler=WeightedRandomSampler(weights, 1000))
    seen = np.concatenate([y.numpy() for _, y in loader])
    assert len(loader) == 20 and seen.size == 1000 and 0.4 < seen.mean() < 0.6


def test_loader_with_a_batch_sampler_yields_its_batches():
    dataset = TensorDataset(np.arange(7))
    loader = DataLoader(dataset, batch_sampler=[[6, 0], [3], [1, 2, 4]])
    assert [x.numpy().tolist() for (x,) in loader] == [[6, 0], [3], [1, 2, 4]]


def test_a_sampled_loader_resumes_mid_epoch():
    def make():
        return ResumableLoader(DataLoader(TensorDataset(np.arange(12)), batch_size=4,
                                          sampler=RandomSampler(range(12), seed=5)))

    loader = make()
    batches = []
    for (x,) in loader:
        batches.append(x.numpy().tolist())
        state = loader.state_dict()
        break
    resumed = make()
    list(resumed)  # a later epoch's draws: the state must bring the generator back
    resumed.load_state_dict(state)
    rest = [x.numpy().tolist() for (x,) in resumed]
    full = [x.numpy().tolist() for (x,) in make()]
    assert batches + rest == full


@pytest.mark.parametrize("call, message", [
    (lambda d: DataLoader(d, shuffle=True, sampler=SequentialSampler(d)), "mutually exclusive with shuffle"),
    (lambda d: DataLoader(d, batch_size=2, batch_sampler=[[0]]), "batch_sampler option is mutually exclusive"),
    (lambda d: DataLoader(d, sampler=SequentialSampler(d), seed=0), "give the sampler its own"),
    (lambda d: WeightedRandomSampler([1.0, -1.0], 2), "non-negative"),
    (lambda d: WeightedRandomSampler([1.0, 0.0], 2, replacement=False), "without replacement from 1"),
    (lambda d: WeightedRandomSampler([[1.0]], 1), "1-D"),
    (lambda d: RandomSampler(d, num_samples=0), "num_samples should be a positive integer"),
    (lambda d: BatchSampler(SequentialSampler(d), 0, False), "batch_size should be a positive integer"),
])
def test_errors_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call(TensorDataset(np.arange(4)))
