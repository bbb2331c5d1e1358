"""MultiplicativeLR, ConstantLR, LinearLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR, SequentialLR,
ChainedScheduler: rate sequences against PyTorch's, state dicts that resume them, errors."""

import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.optim import lr_scheduler


class Halving:
    """A callable object: its attributes go into the state dict (a lambda's would not)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** (x - 1)


# (id, factory(lr_scheduler module, optimizer) -> scheduler, optimizer name, steps)
SCHEDULES = [
    ("multiplicative", lambda s, o: s.MultiplicativeLR(o, lambda epoch: 0.9 if epoch % 2 else 1.1), "SGD", 12),
    ("multiplicative-per-group", lambda s, o: s.MultiplicativeLR(o, [lambda e: 0.95, lambda e: 1.0 / (e + 1)]),
     "Adam", 8),
    ("constant", lambda s, o: s.ConstantLR(o, factor=0.3, total_iters=4), "SGD", 8),
    ("linear", lambda s, o: s.LinearLR(o, start_factor=0.1, total_iters=7), "SGD", 12),
    ("linear-decay", lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.05, total_iters=9), "Adam", 12),
    ("polynomial", lambda s, o: s.PolynomialLR(o, total_iters=8, power=1.7), "SGD", 12),
    ("warm-restarts", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=3), "SGD", 14),
    ("warm-restarts-mult", lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3, eta_min=0.01), "SGD", 30),
    ("cyclic", lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3), "SGD", 16),
    ("cyclic-triangular2", lambda s, o: s.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=2,
                                                   step_size_down=4, mode="triangular2"), "Adam", 25),
    ("cyclic-exp-range", lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=3, mode="exp_range",
                                                 gamma=0.9, base_momentum=0.7, max_momentum=0.95), "SGD", 20),
    ("cyclic-scale-fn", lambda s, o: s.CyclicLR(o, base_lr=0.01, max_lr=0.2, step_size_up=2, scale_fn=Halving(0.7),
                                                scale_mode="iterations", cycle_momentum=False), "Adagrad", 12),
    ("sequential", lambda s, o: s.SequentialLR(o, [s.LinearLR(o, start_factor=0.2, total_iters=4),
                                                   s.CosineAnnealingLR(o, T_max=6, eta_min=0.001)], milestones=[4]),
     "SGD", 14),
    ("sequential-three", lambda s, o: s.SequentialLR(o, [s.ConstantLR(o, factor=0.5, total_iters=2),
                                                         s.ExponentialLR(o, gamma=0.8),
                                                         s.StepLR(o, step_size=2, gamma=0.5)], milestones=[3, 7]),
     "Adam", 14),
    ("sequential-multistep", lambda s, o: s.SequentialLR(o, [s.PolynomialLR(o, total_iters=3),
                                                             s.MultiStepLR(o, milestones=[1, 4], gamma=0.3)],
                                                         milestones=[5]), "SGD", 10),
    ("sequential-of-chain", lambda s, o: s.SequentialLR(o, [s.ChainedScheduler([s.ConstantLR(o, factor=0.5),
                                                                                s.ExponentialLR(o, gamma=0.9)]),
                                                            s.LinearLR(o, start_factor=0.5, total_iters=3)],
                                                        milestones=[6]), "SGD", 12),
    ("chained", lambda s, o: s.ChainedScheduler([s.ConstantLR(o, factor=0.1, total_iters=3),
                                                 s.ExponentialLR(o, gamma=0.9)]), "SGD", 10),
    ("chained-three", lambda s, o: s.ChainedScheduler([s.LinearLR(o, start_factor=0.3, total_iters=4),
                                                       s.PolynomialLR(o, total_iters=10, power=0.5),
                                                       s.MultiplicativeLR(o, lambda epoch: 0.97)], optimizer=o),
     "Adam", 12),
]


def make_optimizer(lib, name):
    """Two parameter groups with different rates (and momentum, for SGD)."""
    first = lib.zeros(2, requires_grad=True)
    second = lib.zeros(3, requires_grad=True)
    options = dict(momentum=0.9) if name == "SGD" else {}
    return getattr(lib.optim, name)([{"params": [first]}, {"params": [second], "lr": 0.05}], lr=0.1, **options)


def momenta(optimizer):
    return [group.get("momentum", group.get("betas", [None])[0]) for group in optimizer.param_groups]


def schedule(lib, factory, optimizer_name, steps):
    """The last rates, the groups' rates and momenta, after construction and after each step."""
    optimizer = make_optimizer(lib, optimizer_name)
    scheduler = factory(lib.optim.lr_scheduler, optimizer)
    records = []
    for _ in range(steps + 1):
        records.append((list(scheduler.get_last_lr()), [g["lr"] for g in optimizer.param_groups], momenta(optimizer)))
        if len(records) <= steps:
            optimizer.step()
            scheduler.step()
    return records, scheduler


def assert_records_close(ours, theirs):
    for step, (mine, expected) in enumerate(zip(ours, theirs)):
        for a, b in zip(mine, expected):
            np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), rtol=1e-12, atol=1e-15,
                                       err_msg=f"step {step}")


@requires_torch
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # a chain's first step
@pytest.mark.parametrize("case", SCHEDULES, ids=lambda case: case[0])
def test_schedule_matches_pytorch(case):
    _, factory, optimizer_name, steps = case
    ours, scheduler = schedule(md, factory, optimizer_name, steps)
    theirs, reference = schedule(torch, factory, optimizer_name, steps)
    assert_records_close(ours, theirs)
    assert getattr(scheduler, "last_epoch", None) == getattr(reference, "last_epoch", None)
    assert len({tuple(record[0]) for record in ours}) > 1  # the schedule did change the rates


@pytest.mark.parametrize("case", SCHEDULES, ids=lambda case: case[0])
def test_state_dict_resumes_the_schedule(case):
    _, factory, optimizer_name, steps = case
    full, _ = schedule(md, factory, optimizer_name, steps)
    optimizer = make_optimizer(md, optimizer_name)
    scheduler = factory(lr_scheduler, optimizer)
    half = steps // 2
    for _ in range(half):
        scheduler.step()
    saved_scheduler, saved_optimizer = scheduler.state_dict(), optimizer.state_dict()
    assert "optimizer" not in saved_scheduler

    resumed_optimizer = make_optimizer(md, optimizer_name)
    resumed = factory(lr_scheduler, resumed_optimizer)
    resumed_optimizer.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved_scheduler)
    assert resumed.get_last_lr() == full[half][0]
    for step in range(half + 1, steps + 1):
        resumed.step()
        assert resumed.get_last_lr() == full[step][0], f"step {step}"
        assert momenta(resumed_optimizer) == full[step][2], f"step {step}"


@requires_torch
def test_warm_restarts_with_fractional_epochs_match_pytorch():
    """Stepped every batch with ``step(epoch + batch / batches)``, then jumping about, then by one."""
    epochs = [e + b / 4 for e in range(12) for b in range(4)] + [3.7, 0.2, 40.0, 2.0, 6.5]
    records = {}
    for lib in (md, torch):
        optimizer = make_optimizer(lib, "SGD")
        scheduler = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=0.001)
        lrs = []
        for epoch in epochs:
            scheduler.step(epoch)
            lrs.append((list(scheduler.get_last_lr()), scheduler.last_epoch, scheduler.T_i, scheduler.T_cur))
        for _ in range(5):
            scheduler.step()
            lrs.append((list(scheduler.get_last_lr()), scheduler.last_epoch, scheduler.T_i, scheduler.T_cur))
        records[lib] = lrs
    for (mine, *position), (expected, *reference) in zip(records[md], records[torch]):
        np.testing.assert_allclose(mine, expected, rtol=1e-12)
        assert position == pytest.approx(reference, rel=1e-12)


def test_warm_restarts_closed_form():
    optimizer = make_optimizer(md, "SGD")
    scheduler = lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=3, T_mult=2)
    # periods [0, 3), [3, 9), [9, 21)
    for epoch, (t_cur, t_i) in [(1.5, (1.5, 3)), (3, (0, 6)), (8.25, (5.25, 6)), (9, (0, 12)), (20, (11, 12))]:
        scheduler.step(epoch)
        assert scheduler.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        assert scheduler.last_epoch == math.floor(epoch)


def test_cyclic_momentum_moves_against_the_rate():
    optimizer = make_optimizer(md, "Adam")
    scheduler = lr_scheduler.CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=2, base_momentum=0.8,
                                      max_momentum=0.9)
    lrs, betas = [], []
    for _ in range(5):
        lrs.append(scheduler.get_last_lr()[0])
        betas.append(optimizer.param_groups[0]["betas"][0])
        scheduler.step()
    assert lrs == pytest.approx([0.1, 0.3, 0.5, 0.3, 0.1])
    assert betas == pytest.approx([0.9, 0.85, 0.8, 0.85, 0.9])
    assert optimizer.param_groups[0]["betas"][1] == 0.999


def test_cyclic_saves_a_callable_scale_fn_but_not_a_function():
    optimizer = make_optimizer(md, "SGD")
    scheduler = lr_scheduler.CyclicLR(optimizer, base_lr=0.01, max_lr=0.1, scale_fn=Halving(0.5))
    saved = scheduler.state_dict()
    assert saved["_scale_fn_custom"] == {"rate": 0.5}
    other = lr_scheduler.CyclicLR(make_optimizer(md, "SGD"), base_lr=0.01, max_lr=0.1, scale_fn=Halving(0.9))
    other.load_state_dict(saved)
    assert other._scale_fn_custom.rate == 0.5 and saved["_scale_fn_custom"] == {"rate": 0.5}
    plain = lr_scheduler.CyclicLR(optimizer, base_lr=0.01, max_lr=0.1, scale_fn=lambda x: 1.0)
    assert plain.state_dict()["_scale_fn_custom"] is None


def test_sequential_restarts_each_schedule_from_the_base_rate():
    optimizer = make_optimizer(md, "SGD")
    decay = lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    scheduler = lr_scheduler.SequentialLR(
        optimizer, [lr_scheduler.ConstantLR(optimizer, factor=0.1, total_iters=10), decay], milestones=[3])
    rates = [scheduler.get_last_lr()[0]]
    for _ in range(5):
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])
    assert rates == pytest.approx([0.01, 0.01, 0.01, 0.1, 0.05, 0.025])  # the warm-up never ran to its end
    assert decay.last_epoch == 2 and scheduler.last_epoch == 5


def test_combination_errors():
    optimizer, other = make_optimizer(md, "SGD"), make_optimizer(md, "SGD")
    first, second = lr_scheduler.ConstantLR(optimizer), lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    with pytest.raises(ValueError, match=r"SequentialLR: expected 1 milestones \(one fewer than the 2 schedulers\), "
                                         r"got 2: \[2, 4\]"):
        lr_scheduler.SequentialLR(optimizer, [first, second], milestones=[2, 4])
    with pytest.raises(ValueError, match=r"SequentialLR: expected increasing milestones, got \[4, 2\]"):
        lr_scheduler.SequentialLR(optimizer, [first, second, first], milestones=[4, 2])
    with pytest.raises(ValueError, match="SequentialLR: all schedulers must drive the same optimizer"):
        lr_scheduler.SequentialLR(other, [first, second], milestones=[2])
    with pytest.raises(ValueError, match="SequentialLR: expected at least one scheduler"):
        lr_scheduler.SequentialLR(optimizer, [], milestones=[])
    with pytest.raises(ValueError, match="ChainedScheduler: can't combine ReduceLROnPlateau"):
        lr_scheduler.ChainedScheduler([first, lr_scheduler.ReduceLROnPlateau(optimizer)])
    with pytest.raises(TypeError, match="ChainedScheduler: expected LR schedulers, but the one at index 1 is a str"):
        lr_scheduler.ChainedScheduler([first, "ExponentialLR"])
    with pytest.raises(ValueError, match="ChainedScheduler: expected at least one scheduler"):
        lr_scheduler.ChainedScheduler([])


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda o: lr_scheduler.ConstantLR(o, factor=1.5), ValueError, "ConstantLR: expected a factor between 0 and 1"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError, r"LinearLR: expected a start_factor in \(0"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=2.0), ValueError, r"LinearLR: expected an end_factor in \[0"),
        (lambda o: lr_scheduler.MultiplicativeLR(o, [lambda e: 1.0]), ValueError, "expected 2 lr_lambdas"),
        (lambda o: lr_scheduler.MultiplicativeLR(o, 0.9), TypeError, "lr_lambda must be a function, got float"),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "positive integer T_0, got 0"),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "T_mult >= 1, got 1.5"),
        (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2).step(-1), ValueError, "non-negative epoch"),
        (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, mode="sine"), ValueError, "CyclicLR: mode must be"),
        (lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, scale_fn=abs, scale_mode="epoch"), ValueError, "scale_mode"),
        (lambda o: lr_scheduler.CyclicLR(o, [0.01], 0.1), ValueError, "CyclicLR: base_lr has 1 values but the "
                                                                      "optimizer has 2 groups"),
        (lambda o: lr_scheduler.CyclicLR(md.optim.Adagrad(o.param_groups), 0.01, 0.1), ValueError,
         "CyclicLR: cycle_momentum needs an optimizer with momentum or betas, Adagrad has neither"),
        (lambda o: lr_scheduler.CyclicLR("sgd", 0.01, 0.1), TypeError, "CyclicLR: expected an Optimizer, got str"),
    ],
)
def test_invalid_options_raise(make, error, message):
    with pytest.raises(error, match=message):
        make(make_optimizer(md, "SGD"))


def test_reexported_from_lr_scheduler():
    for name in ["MultiplicativeLR", "ConstantLR", "LinearLR", "PolynomialLR", "CosineAnnealingWarmRestarts",
                 "CyclicLR", "SequentialLR", "ChainedScheduler"]:
        assert getattr(md.optim.lr_scheduler, name).__name__ == name and name in lr_scheduler.__all__
        assert issubclass(getattr(lr_scheduler, name), lr_scheduler.LRScheduler)
