"""LR schedulers: sequences against PyTorch's, closed forms by hand, state dicts, ReduceLROnPlateau."""

import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl import optim
from minidl.optim import lr_scheduler

# (scheduler name, options, optimizer name, steps)
SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5), "SGD", 12),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), "SGD", 12),
    ("ExponentialLR", dict(gamma=0.9), "Adam", 10),
    ("CosineAnnealingLR", dict(T_max=5), "SGD", 25),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), "Adam", 30),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch)), "SGD", 8),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=20), "SGD", 20),
    ("OneCycleLR", dict(max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=4, anneal_strategy="linear"), "Adam", 12),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=15, three_phase=True, pct_start=0.4), "SGD", 15),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=9, cycle_momentum=False, div_factor=10.0), "Adagrad", 9),
]


def make_optimizer(lib, name):
    """Two parameter groups with different rates (and momentum, for SGD)."""
    first = lib.zeros(2, requires_grad=True)
    second = lib.zeros(3, requires_grad=True)
    options = dict(momentum=0.9) if name == "SGD" else {}
    return getattr(lib.optim, name)([{"params": [first]}, {"params": [second], "lr": 0.05}], lr=0.1, **options)


def schedule(lib, name, options, optimizer_name, steps):
    """The rates (and momenta) after construction and after each step."""
    optimizer = make_optimizer(lib, optimizer_name)
    scheduler = getattr(lib.optim.lr_scheduler, name)(optimizer, **options)
    records = []
    for _ in range(steps + 1):
        momenta = [group.get("momentum", group.get("betas", [None])[0]) for group in optimizer.param_groups]
        records.append((list(scheduler.get_last_lr()), [g["lr"] for g in optimizer.param_groups], momenta))
        if len(records) <= steps:
            optimizer.step()
            scheduler.step()
    return records, scheduler


def schedule_id(case):
    return case[0] + "-" + "-".join(f"{key}" for key in case[1])


@requires_torch
@pytest.mark.parametrize("case", SCHEDULES, ids=schedule_id)
def test_schedule_matches_pytorch(case):
    ours, scheduler = schedule(md, *case)
    theirs, reference = schedule(torch, *case)
    for step, (mine, expected) in enumerate(zip(ours, theirs)):
        for a, b in zip(mine, expected):
            np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-12, atol=1e-15,
                                       err_msg=f"step {step}")
    assert scheduler.last_epoch == reference.last_epoch
    assert len({tuple(record[0]) for record in ours}) > 1  # the schedule did change the rates


@pytest.mark.parametrize("case", SCHEDULES, ids=schedule_id)
def test_state_dict_resumes_the_schedule(case):
    name, options, optimizer_name, steps = case
    full, _ = schedule(md, *case)
    optimizer = make_optimizer(md, optimizer_name)
    scheduler = getattr(lr_scheduler, name)(optimizer, **options)
    half = steps // 2
    for _ in range(half):
        scheduler.step()
    saved_scheduler, saved_optimizer = scheduler.state_dict(), optimizer.state_dict()
    assert "optimizer" not in saved_scheduler

    resumed_optimizer = make_optimizer(md, optimizer_name)
    resumed = getattr(lr_scheduler, name)(resumed_optimizer, **options)
    resumed_optimizer.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    assert resumed.get_last_lr() == full[half][0]
    for step in range(half + 1, steps + 1):
        resumed.step()
        assert resumed.get_last_lr() == pytest.approx(full[step][0], rel=1e-12), f"step {step}"


def test_step_lr_closed_form():
    records, _ = schedule(md, "StepLR", dict(step_size=4, gamma=0.1), "SGD", 13)
    for epoch, (last_lr, _, _) in enumerate(records):
        assert last_lr == pytest.approx([0.1 * 0.1 ** (epoch // 4), 0.05 * 0.1 ** (epoch // 4)])


def test_cosine_closed_form_and_constructor_step():
    optimizer = make_optimizer(md, "SGD")
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.001)
    assert scheduler.last_epoch == 0 and scheduler.get_last_lr() == [0.1, 0.05]
    assert optimizer.param_groups[0]["initial_lr"] == 0.1
    for epoch in range(1, 11):
        scheduler.step()
        expected = 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert scheduler.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)


def test_one_cycle_peaks_at_max_lr_and_ends_near_zero():
    optimizer = make_optimizer(md, "Adam")
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.4, total_steps=10, pct_start=0.3)
    lrs = [scheduler.get_last_lr()[0]]
    betas = [optimizer.param_groups[0]["betas"][0]]
    for _ in range(9):
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
        betas.append(optimizer.param_groups[0]["betas"][0])
    assert lrs[0] == pytest.approx(0.4 / 25) and max(lrs) == pytest.approx(0.4) and lrs.index(max(lrs)) == 2
    assert lrs[-1] == pytest.approx(0.4 / 25 / 1e4)
    assert betas[0] == pytest.approx(0.95) and betas[2] == pytest.approx(0.85)
    with pytest.raises(ValueError, match="total_steps=10"):
        scheduler.step()
        scheduler.step()


def test_lambda_lr_saves_callable_objects_but_not_functions():
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    optimizer = make_optimizer(md, "SGD")
    scheduler = lr_scheduler.LambdaLR(optimizer, [Warmup(4), lambda epoch: 0.5**epoch])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"steps": 4}, None]
    other = lr_scheduler.LambdaLR(make_optimizer(md, "SGD"), [Warmup(9), lambda epoch: 1.0])
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].steps == 4


def test_scheduler_errors():
    optimizer = make_optimizer(md, "SGD")
    with pytest.raises(TypeError, match="expected an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(optimizer, step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="2 lr_lambdas"):
        lr_scheduler.LambdaLR(optimizer, [lambda e: 1.0])
    with pytest.raises(ValueError, match="total_steps"):
        lr_scheduler.OneCycleLR(optimizer, max_lr=0.1)
    with pytest.raises(ValueError, match="cycle_momentum"):
        lr_scheduler.OneCycleLR(make_optimizer(md, "Adagrad"), max_lr=0.1, total_steps=5)


# ---- ReduceLROnPlateau --------------------------------------------------------------------------------
PLATEAU_METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.7, 0.9]
PLATEAUS = [
    dict(patience=2),
    dict(patience=1, cooldown=2, factor=0.5),
    dict(patience=0, threshold=0.2, threshold_mode="abs", min_lr=[0.02, 0.04]),
    dict(mode="max", patience=1, threshold=0.01, cooldown=1),
    dict(mode="max", patience=2, threshold_mode="abs", factor=0.9, eps=1e-3),
]


def plateau_lrs(lib, options, metrics):
    optimizer = make_optimizer(lib, "SGD")
    scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **options)
    lrs = []
    for metric in metrics:
        scheduler.step(metric)
        lrs.append(list(scheduler.get_last_lr()))
    return lrs, scheduler


@requires_torch
@pytest.mark.parametrize("options", PLATEAUS, ids=str)
def test_reduce_on_plateau_matches_pytorch(options):
    ours, scheduler = plateau_lrs(md, options, PLATEAU_METRICS)
    theirs, reference = plateau_lrs(torch, options, PLATEAU_METRICS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert (scheduler.best, scheduler.num_bad_epochs, scheduler.cooldown_counter) == (
        reference.best, reference.num_bad_epochs, reference.cooldown_counter)


def test_reduce_on_plateau_patience_and_cooldown_by_hand():
    metrics = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    lrs, scheduler = plateau_lrs(md, dict(patience=2, cooldown=1, factor=0.5), metrics)
    # Best is set on step 1; steps 2, 3 are bad (patience 2); step 4 is the third bad one: drop.
    # Step 5 is in cooldown (not counted); steps 6, 7 bad; step 8: drop again.
    first = [lr[0] for lr in lrs]
    assert first == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025])
    assert scheduler.last_epoch == 8


def test_reduce_on_plateau_state_dict_and_floor():
    lrs, scheduler = plateau_lrs(md, dict(patience=0, factor=0.1, min_lr=0.003), [1.0, 2.0, 2.0, 2.0])
    assert [lr[0] for lr in lrs] == pytest.approx([0.1, 0.01, 0.003, 0.003])
    other = lr_scheduler.ReduceLROnPlateau(make_optimizer(md, "SGD"), patience=5)
    other.load_state_dict(scheduler.state_dict())
    assert (other.patience, other.best, other.last_epoch) == (0, 1.0, 4)
    with pytest.raises(ValueError, match="factor must be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(md, "SGD"), factor=1.0)
    with pytest.raises(ValueError, match="mode must be"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(md, "SGD"), mode="up")


def test_learning_rate_reaches_the_update():
    """What the scheduler writes is what the next optimizer step uses."""
    param = md.zeros(1, requires_grad=True)
    optimizer = optim.SGD([param], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    for _ in range(3):
        param.grad = md.ones(1)
        optimizer.step()
        scheduler.step()
    assert param.detach().numpy()[0] == pytest.approx(-(1.0 + 0.5 + 0.25))
