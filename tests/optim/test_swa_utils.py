"""Weight averaging (``minidl.optim.swa_utils``): averages by hand, and against PyTorch in float64."""

import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl import nn
from minidl.optim.swa_utils import (
    SWALR,
    AveragedModel,
    get_ema_avg_fn,
    get_ema_multi_avg_fn,
    get_swa_avg_fn,
    get_swa_multi_avg_fn,
    update_bn,
)


def network(lib):
    """Linear -> BatchNorm1d -> ReLU -> Linear, in float64."""
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU(), lib.nn.Linear(4, 2)).double()


def train_steps(model, lib, batches, lr=0.1):
    """One plain SGD step per batch on the sum of squares of the output (parameters and BN buffers move)."""
    for batch in batches:
        loss = (model(lib.from_numpy(batch)) ** 2).sum()
        for p in model.parameters():
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in model.parameters():
                p -= lr * p.grad


def test_swa_is_the_mean_of_the_models_seen():
    net = nn.Linear(2, 2, bias=False)
    swa = AveragedModel(net)
    values = [1.0, 2.0, 6.0]
    for value in values:
        with md.no_grad():
            net.weight.fill_(value)
        swa.update_parameters(net)
    np.testing.assert_allclose(swa.module.weight.detach().numpy(), np.full((2, 2), np.mean(values)), rtol=1e-6)
    assert int(swa.n_averaged) == 3


def test_ema_by_hand_and_the_first_update_copies():
    net = nn.Linear(1, 1, bias=False)
    ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.5))
    expected = None
    for value in [4.0, 0.0, 2.0]:
        with md.no_grad():
            net.weight.fill_(value)
        ema.update_parameters(net)
        expected = value if expected is None else 0.5 * expected + 0.5 * value
    assert ema.module.weight.item() == pytest.approx(expected)   # 4 -> 2 -> 2
    assert expected == 2.0


def test_buffers_follow_the_model_unless_averaged():
    net = nn.BatchNorm1d(2)
    copied, averaged = AveragedModel(net), AveragedModel(net, use_buffers=True)
    for mean in [2.0, 4.0]:
        with md.no_grad():
            net.running_mean.fill_(mean)
        copied.update_parameters(net)
        averaged.update_parameters(net)
    np.testing.assert_allclose(copied.module.running_mean.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(averaged.module.running_mean.numpy(), [3.0, 3.0])


def test_the_average_is_a_copy_and_calls_it():
    net = nn.Linear(2, 1)
    swa = AveragedModel(net)
    swa.update_parameters(net)
    assert swa.module.weight is not net.weight
    x = md.randn(5, 2)
    np.testing.assert_allclose(swa(x).detach().numpy(), net(x).detach().numpy(), rtol=1e-6)
    assert set(swa.state_dict()) == {"n_averaged", "module.weight", "module.bias"}


def test_update_bn_recomputes_the_statistics_and_restores_mode():
    md.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, momentum=0.3))
    net.eval()
    batches = [md.randn(50, 3) * 2 + 1 for _ in range(4)]
    update_bn([(batch, None) for batch in batches], net)
    with md.no_grad():
        hidden = md.cat([net[0](batch) for batch in batches]).numpy()
    np.testing.assert_allclose(net[1].running_mean.numpy(), hidden.mean(0), rtol=1e-5, atol=1e-6)
    assert not net.training and net[1].momentum == 0.3
    # the running variance is the mean of the unbiased per-batch variances
    per_batch = np.mean([h.var(0, ddof=1) for h in np.split(hidden, 4)], axis=0)
    np.testing.assert_allclose(net[1].running_var.numpy(), per_batch, rtol=1e-5)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\], got 1.5"):
        get_ema_multi_avg_fn(1.5)
    with pytest.raises(TypeError, match="AveragedModel: expected an nn.Module"):
        AveragedModel([md.zeros(2)])
    swa = AveragedModel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="AveragedModel.update_parameters: the model has 4 parameters"):
        swa.update_parameters(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)))
    optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="SWALR: anneal_strategy must be 'cos' or 'linear', got 'step'"):
        SWALR(optimizer, swa_lr=0.01, anneal_strategy="step")
    with pytest.raises(ValueError, match="SWALR: expected 1 swa_lr values"):
        SWALR(optimizer, swa_lr=[0.01, 0.02])


# (get_swa_multi_avg_fn is left out: PyTorch 2.13's own raises on CPU float64 tensors there, in
# addcdiv; test_avg_fn_forms_agree checks minidl's by hand.)
AVERAGES = [
    ("swa", lambda lib: {}),
    ("swa avg_fn", lambda lib: {"avg_fn": lib.optim.swa_utils.get_swa_avg_fn()}),
    ("ema avg_fn", lambda lib: {"avg_fn": lib.optim.swa_utils.get_ema_avg_fn(0.9)}),
    ("ema multi", lambda lib: {"multi_avg_fn": lib.optim.swa_utils.get_ema_multi_avg_fn(0.9)}),
]


@requires_torch
@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("name, options", AVERAGES, ids=[name for name, _ in AVERAGES])
def test_averaged_model_matches_torch(name, options, use_buffers):
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(8, 3)) for _ in range(6)]
    torch.manual_seed(0)
    theirs = network(torch)
    ours = network(md)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    averages = [AveragedModel(ours, use_buffers=use_buffers, **options(md)),
                torch.optim.swa_utils.AveragedModel(theirs, use_buffers=use_buffers, **options(torch))]
    for batch in batches:   # train each a step, then fold the step in
        train_steps(ours, md, [batch])
        train_steps(theirs, torch, [batch])
        averages[0].update_parameters(ours)
        averages[1].update_parameters(theirs)
    expected = {k: v.detach().numpy() for k, v in averages[1].state_dict().items()}
    got = {k: v.detach().numpy() for k, v in averages[0].state_dict().items()}
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-10, atol=1e-12, err_msg=key)


@requires_torch
def test_update_bn_matches_torch():
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    theirs = network(torch)
    ours = network(md)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    batches = [rng.normal(size=(16, 3)) for _ in range(5)]
    update_bn([md.from_numpy(b) for b in batches], ours)
    torch.optim.swa_utils.update_bn([torch.from_numpy(b) for b in batches], theirs)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), value.numpy(), rtol=1e-10, err_msg=key)


@requires_torch
@pytest.mark.parametrize("options", [dict(swa_lr=0.01), dict(swa_lr=[0.02, 0.005], anneal_epochs=3),
                                     dict(swa_lr=0.01, anneal_epochs=4, anneal_strategy="linear"),
                                     dict(swa_lr=0.03, anneal_epochs=0)])
def test_swalr_matches_torch(options):
    rates = []
    for lib in (md, torch):
        groups = [{"params": [lib.zeros(1, requires_grad=True)]}, {"params": [lib.zeros(1, requires_grad=True)],
                                                                     "lr": 0.3}]
        optimizer = lib.optim.SGD(groups, lr=0.1)
        scheduler = lib.optim.swa_utils.SWALR(optimizer, **options)
        sequence = [[group["lr"] for group in optimizer.param_groups]]
        for _ in range(14):
            optimizer.step()
            scheduler.step()
            sequence.append(scheduler.get_last_lr())
        rates.append(sequence)
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-12)


def test_swalr_cosine_by_hand():
    optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = SWALR(optimizer, swa_lr=0.0, anneal_epochs=2)
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx((1 + math.cos(math.pi / 2)) / 2)   # 0.5
    scheduler.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0)


def test_avg_fn_forms_agree():
    a, b, n = md.tensor([1.0, 3.0]), md.tensor([5.0, -1.0]), md.tensor(3)
    np.testing.assert_allclose(get_ema_avg_fn(0.75)(a, b, n).numpy(), [2.0, 2.0])
    np.testing.assert_allclose(get_swa_avg_fn()(a, b, n).numpy(), [2.0, 2.0])
    averaged = [md.tensor([1.0, 3.0])]
    get_swa_multi_avg_fn()(averaged, [b], n)
    np.testing.assert_allclose(averaged[0].numpy(), [2.0, 2.0])
