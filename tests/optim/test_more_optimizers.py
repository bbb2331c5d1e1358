"""Adamax, NAdam, RAdam, Rprop, ASGD: trajectories against PyTorch's, rules by hand, state dicts, errors."""

import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl import optim

# (optimizer name, options): every option of every update rule, each run against PyTorch.
CASES = [
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.3, 0.9), eps=1e-3, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.9), momentum_decay=0.05, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.02, eps=1e-3, maximize=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),  # rho_t > 5 from step 6 on
    ("RAdam", dict(lr=0.05, betas=(0.5, 0.8), weight_decay=0.2, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.02, betas=(0.9, 0.9), maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.01, maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=5, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, t0=3, maximize=True)),
]
STEPS = 15


def case_id(case):
    name, options = case
    return name + "(" + ",".join(f"{key}={value}" for key, value in options.items()) + ")"


def starting_point():
    rng = np.random.default_rng(2)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4), np.array(0.7)]


def objective(lib, weight, bias, scale, sign):
    """A non-quadratic loss (or, with sign -1, a gain to maximize) whose gradient changes from step to step."""
    inputs = lib.tensor(np.linspace(-1.0, 1.0, 8).reshape(2, 4), dtype=weight.dtype)
    smooth = lib.cos(inputs @ weight.T).sum() * scale + ((bias - scale) ** 2).sum() + (weight**2).sum()
    return smooth * sign


def trajectory(lib, name, options, dtype, steps=STEPS):
    dtype = getattr(lib, dtype)
    params = [lib.tensor(value, dtype=dtype, requires_grad=True) for value in starting_point()]
    optimizer = getattr(lib.optim, name)(params, **options)
    sign = -1.0 if options.get("maximize") else 1.0
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        objective(lib, *params, sign).backward()
        optimizer.step()
        path.append([p.detach().numpy().copy() for p in params])
    return path, optimizer


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float64_trajectory_and_state_match_pytorch(case):
    name, options = case
    ours, optimizer = trajectory(md, name, options, "float64")
    theirs, reference = trajectory(torch, name, dict(options, foreach=False), "float64")
    for step, (mine, expected) in enumerate(zip(ours, theirs)):
        for a, b in zip(mine, expected):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13, err_msg=f"diverged at step {step + 1}")
    assert not np.allclose(ours[-1][0], starting_point()[0])  # the parameters did move
    mine, torch_state = optimizer.state_dict(), reference.state_dict()
    assert mine["state"].keys() == torch_state["state"].keys()
    for index, state in mine["state"].items():
        assert state.keys() == torch_state["state"][index].keys()
        for key, value in state.items():
            expected = torch_state["state"][index][key]
            assert value.dtype == (np.float32 if key in optimizer.scalar_state else np.float64), key
            np.testing.assert_allclose(value.numpy(), expected.numpy(), rtol=1e-12, atol=1e-13, err_msg=key)
    assert set(mine["param_groups"][0]) <= set(torch_state["param_groups"][0])


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_trajectory_matches_pytorch(case):
    name, options = case
    ours, optimizer = trajectory(md, name, options, "float32", steps=10)
    theirs, _ = trajectory(torch, name, dict(options, foreach=False), "float32", steps=10)
    for step, (mine, expected) in enumerate(zip(ours, theirs)):
        for a, b in zip(mine, expected):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=f"diverged at step {step + 1}")
    for key, value in optimizer.state_dict()["state"][0].items():
        assert value.dtype == np.float32, key


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_round_trip_resumes_exactly(case):
    name, options = case
    full, _ = trajectory(md, name, options, "float64", steps=10)
    half, optimizer = trajectory(md, name, options, "float64", steps=5)
    params = [md.tensor(value, dtype=md.float64, requires_grad=True) for value in half[-1]]
    resumed = getattr(optim, name)(params, lr=123.0)  # the options come back from the state dict
    resumed.load_state_dict(optimizer.state_dict())
    assert resumed.param_groups[0] == dict(optimizer.param_groups[0], params=params)
    sign = -1.0 if options.get("maximize") else 1.0
    for step in range(5, 10):
        resumed.zero_grad()
        objective(md, *params, sign).backward()
        resumed.step()
        for a, b in zip(params, full[step]):
            np.testing.assert_array_equal(a.detach().numpy(), b, err_msg=f"step {step + 1}")
    for key in resumed.scalar_state:
        assert resumed.state[params[0]][key].dtype == np.float32, key


# ---- the rules by hand ------------------------------------------------------------------------------
def run_steps(optimizer_class, start, grads, **options):
    """Apply ``optimizer_class`` to one float64 parameter fed the given gradients; returns its values."""
    param = md.tensor(start, dtype=md.float64, requires_grad=True)
    optimizer = optimizer_class([param], **options)
    values = []
    for grad in grads:
        param.grad = md.tensor(grad, dtype=md.float64)
        optimizer.step()
        values.append(param.detach().numpy().copy())
    return values, optimizer.state[param]


def test_adamax_follows_the_largest_recent_gradient():
    lr, beta1, beta2 = 0.1, 0.5, 0.9
    (first, second), state = run_steps(optim.Adamax, [0.0], [[4.0], [1.0]], lr=lr, betas=(beta1, beta2), eps=0.0)
    assert first == pytest.approx(-lr)
    m, u = beta1 * 0.5 * 4.0 + 0.5 * 1.0, max(beta2 * 4.0, 1.0)  # u still remembers the 4
    assert second == pytest.approx(first - lr / (1 - beta1**2) * m / u)
    assert state["exp_inf"].numpy() == pytest.approx([u])


def test_nadam_first_step_by_hand():
    lr, beta1, decay = 0.1, 0.9, 4e-3
    (value,), state = run_steps(optim.NAdam, [1.0], [[2.0]], lr=lr, eps=0.0)
    mu1, mu2 = (beta1 * (1 - 0.5 * 0.96 ** (t * decay)) for t in (1, 2))
    m, denominator = (1 - beta1) * 2.0, 2.0  # sqrt(v_1 / (1 - beta2)) = |g|
    expected = 1.0 - lr * (1 - mu1) / (1 - mu1) * 2.0 / denominator - lr * mu2 / (1 - mu1 * mu2) * m / denominator
    assert value == pytest.approx(expected, rel=1e-6)  # mu_product is a float32
    assert float(state["mu_product"].item()) == pytest.approx(mu1, rel=1e-7)


def test_nadam_and_radam_decoupled_weight_decay_shrinks_the_weights_first():
    for optimizer_class in (optim.NAdam, optim.RAdam):
        (coupled,), _ = run_steps(optimizer_class, [2.0], [[0.0]], lr=0.1, weight_decay=0.5)
        (decoupled,), _ = run_steps(optimizer_class, [2.0], [[0.0]], lr=0.1, weight_decay=0.5,
                                    decoupled_weight_decay=True)
        assert decoupled == pytest.approx(2.0 * (1 - 0.1 * 0.5))  # no gradient: only the decay moves it
        (penalized,), _ = run_steps(optimizer_class, [2.0], [[0.5 * 2.0]], lr=0.1)
        assert coupled == pytest.approx(penalized)  # coupled: the decay is a gradient, normalized like any other


def test_radam_is_momentum_sgd_until_the_variance_is_tractable():
    lr, beta1, beta2 = 0.1, 0.5, 0.9
    grads = [[1.0]] * 8
    values, _ = run_steps(optim.RAdam, [0.0], grads, lr=lr, betas=(beta1, beta2), eps=0.0)
    rho_inf = 2 / (1 - beta2) - 1
    previous = 0.0
    for t, value in enumerate(values, start=1):
        rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        step = lr  # a constant gradient: m_t / (1 - beta1^t) = 1 and sqrt(v_t / (1 - beta2^t)) = 1
        if rho > 5:
            step *= math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        assert value == pytest.approx(previous - step), f"step {t}"
        previous = value
    assert rho_inf - 2 * 5 * beta2**5 / (1 - beta2**5) < 5 < rho_inf - 2 * 6 * beta2**6 / (1 - beta2**6)


def test_rprop_grows_steps_while_the_sign_holds_and_backs_off_when_it_flips():
    grads = [[1.0], [1.0], [-1.0], [-1.0], [-1.0]]
    values, state = run_steps(optim.Rprop, [0.0], grads, lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.3))
    steps = np.diff([0.0] + [value[0] for value in values])
    # 0.1, then doubled to 0.2; the flip halves the size to 0.1 and skips the move; the next step
    # sees no previous gradient (zeroed) so keeps 0.1; then doubles, capped at 0.3... 0.2 here.
    np.testing.assert_allclose(steps, [-0.1, -0.2, 0.0, 0.1, 0.2])
    assert state["step_size"].numpy() == pytest.approx([0.2])


def test_asgd_averages_the_iterates_after_t0():
    lr, t0 = 0.1, 2
    values, state = run_steps(optim.ASGD, [1.0], [[1.0]] * 5, lr=lr, lambd=0.0, alpha=0.75, t0=t0)
    iterates = [value[0] for value in values]
    np.testing.assert_allclose(iterates, 1.0 - lr * np.arange(1, 6))  # lambd = 0: the step size stays lr
    # mu_t = 1 / max(1, t - 1 - t0): ax copies theta up to step t0 + 2, then averages from there.
    expected = np.mean(iterates[t0 + 1:])
    assert float(state["ax"].item()) == pytest.approx(expected)
    assert float(state["mu"].item()) == pytest.approx(1 / (5 - t0))


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "Rprop", "ASGD"])
def test_runs_on_every_device(name, device):
    param = md.zeros(4, 3, device=device, requires_grad=True)
    optimizer = getattr(optim, name)([param], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        ((param - 1.5) ** 2).sum().backward()
        optimizer.step()
    assert 0.1 < float(param.mean().item()) < 1.5  # towards the minimum
    for key, value in optimizer.state[param].items():
        expected = "cpu" if key in optimizer.scalar_state else device
        assert str(value.device).startswith(expected), key


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.Adamax(p, lr=-0.1), "Adamax: invalid lr -0.1"),
        (lambda p: optim.Adamax(p, betas=(0.9, 1.0)), "Adamax: invalid beta at index 1"),
        (lambda p: optim.NAdam(p, momentum_decay=-1.0), "NAdam: invalid momentum_decay"),
        (lambda p: optim.NAdam(p, betas=(-0.1, 0.9)), "NAdam: invalid beta at index 0"),
        (lambda p: optim.RAdam(p, eps=-1.0), "RAdam: invalid eps"),
        (lambda p: optim.RAdam(p, weight_decay=-1.0), "RAdam: invalid weight_decay"),
        (lambda p: optim.Rprop(p, etas=(1.2, 0.5)), r"Rprop: invalid etas \(1.2, 0.5\)"),
        (lambda p: optim.Rprop(p, lr=-1.0), "Rprop: invalid lr"),
        (lambda p: optim.ASGD(p, weight_decay=-0.1), "ASGD: invalid weight_decay"),
    ],
)
def test_invalid_options_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([md.randn(2, requires_grad=True)])
