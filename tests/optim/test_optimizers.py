"""Optimizers: trajectories against PyTorch's (float64, step for step), hand-computed steps, the base class."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl import optim

# (optimizer name, options): every option of every update rule, each run against PyTorch.
CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.01, momentum=0.9, maximize=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-3)),
    ("Adadelta", dict(weight_decay=0.1, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-4, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, betas=(0.5, 0.999), weight_decay=0.1)),
    ("Adam", dict(lr=0.05, eps=1e-3, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.8, 0.9), maximize=True)),
]
STEPS = 25


def case_id(case):
    name, options = case
    return name + "(" + ",".join(f"{key}={value}" for key, value in options.items()) + ")"


def starting_point():
    rng = np.random.default_rng(1)
    return [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(())]


def objective(lib, weight, bias, scale):
    """A non-quadratic loss whose gradient changes sign and magnitude from step to step."""
    inputs = lib.tensor(np.linspace(-1.0, 1.0, 8).reshape(2, 4), dtype=lib.float64)
    hidden = lib.cos(inputs @ weight.T)  # (2, 3)
    return (hidden.sum(0) @ weight).sum() * scale + ((bias - scale) ** 2).sum() + 0.5 * (weight**2).sum()


def trajectory(lib, optimizer_class, start, options, steps=STEPS, groups=None):
    params = [lib.tensor(value.copy(), dtype=lib.float64, requires_grad=True) for value in start]
    optimizer = optimizer_class(params if groups is None else groups(params), **options)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        objective(lib, *params).backward()
        optimizer.step()
        path.append([p.detach().numpy().copy() for p in params])
    return path, optimizer


def assert_paths_close(ours, theirs):
    for step, (mine, reference) in enumerate(zip(ours, theirs)):
        for a, b in zip(mine, reference):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=f"diverged at step {step + 1}")


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_pytorch(case):
    name, options = case
    start = starting_point()
    ours, optimizer = trajectory(md, getattr(optim, name), start, options)
    theirs, reference = trajectory(torch, getattr(torch.optim, name), start, dict(options, foreach=False))
    assert_paths_close(ours, theirs)
    assert not np.allclose(ours[-1][0], start[0])  # the parameters did move
    # The state dict has PyTorch's layout and keys.
    mine, torch_state = optimizer.state_dict(), reference.state_dict()
    assert mine["state"].keys() == torch_state["state"].keys()
    for index, state in mine["state"].items():
        assert state.keys() == torch_state["state"][index].keys()
        for key, value in state.items():
            np.testing.assert_allclose(value.numpy(), torch_state["state"][index][key].numpy(), rtol=1e-6, atol=1e-9)
    assert mine["param_groups"][0]["params"] == torch_state["param_groups"][0]["params"]
    assert set(mine["param_groups"][0]) <= set(torch_state["param_groups"][0])


@requires_torch
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_parameter_groups_match_pytorch(name):
    """Per-group options override the defaults, and only in their group."""
    options = dict(lr=0.02, momentum=0.5) if name != "Adam" else dict(lr=0.02)
    override = dict(lr=0.1, weight_decay=0.2)

    def groups(params):
        return [{"params": params[:1], **override}, {"params": params[1:]}]

    start = starting_point()
    ours, optimizer = trajectory(md, getattr(optim, name), start, options, groups=groups)
    theirs, _ = trajectory(torch, getattr(torch.optim, name), start, dict(options, foreach=False), groups=groups)
    assert_paths_close(ours, theirs)
    assert optimizer.param_groups[0]["lr"] == 0.1 and optimizer.param_groups[1]["lr"] == 0.02
    assert optimizer.state_dict()["param_groups"][1]["params"] == [1, 2]


# ---- hand-computed steps: each rule checked without PyTorch ---------------------------------------------
def run_steps(optimizer_class, start, grads, **options):
    """Apply ``optimizer_class`` to one float64 parameter fed the given gradients; returns its values."""
    param = md.tensor(start, dtype=md.float64, requires_grad=True)
    optimizer = optimizer_class([param], **options)
    values = []
    for grad in grads:
        param.grad = md.tensor(grad, dtype=md.float64)
        optimizer.step()
        assert param.dtype == md.float64
        values.append(param.detach().numpy().copy())
    return values


def test_sgd_momentum_by_hand():
    first, second = run_steps(optim.SGD, [1.0], [[2.0], [2.0]], lr=0.1, momentum=0.9, dampening=0.5)
    assert first == pytest.approx(1.0 - 0.1 * 2.0)  # the first step seeds the buffer with g, undamped
    assert second == pytest.approx(0.8 - 0.1 * (0.9 * 2.0 + 0.5 * 2.0))


def test_sgd_nesterov_and_weight_decay_by_hand():
    (value,) = run_steps(optim.SGD, [1.0], [[2.0]], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.5)
    grad = 2.0 + 0.5 * 1.0
    assert value == pytest.approx(1.0 - 0.1 * (grad + 0.9 * grad))


def test_sgd_maximize_climbs():
    (value,) = run_steps(optim.SGD, [1.0], [[2.0]], lr=0.1, maximize=True)
    assert value == pytest.approx(1.2)


def test_adagrad_by_hand():
    first, second = run_steps(optim.Adagrad, [1.0], [[2.0], [1.0]], lr=0.5, lr_decay=0.1,
                              initial_accumulator_value=1.0, eps=0.0)
    assert first == pytest.approx(1.0 - 0.5 * 2.0 / np.sqrt(1.0 + 4.0))
    assert second == pytest.approx(first - 0.5 / 1.1 * 1.0 / np.sqrt(5.0 + 1.0))


def test_adadelta_by_hand():
    rho, eps, lr = 0.9, 1e-6, 1.0
    (value,) = run_steps(optim.Adadelta, [1.0], [[2.0]], lr=lr, rho=rho, eps=eps)
    square_avg = (1 - rho) * 4.0
    delta = np.sqrt(0.0 + eps) / np.sqrt(square_avg + eps) * 2.0
    assert value == pytest.approx(1.0 - lr * delta)


def test_rmsprop_centered_momentum_by_hand():
    alpha, lr, eps, momentum = 0.9, 0.01, 1e-8, 0.5
    first, second = run_steps(optim.RMSprop, [1.0], [[2.0], [-1.0]], lr=lr, alpha=alpha, eps=eps,
                              momentum=momentum, centered=True)
    v1, a1 = (1 - alpha) * 4.0, (1 - alpha) * 2.0
    buffer1 = 2.0 / (np.sqrt(v1 - a1**2) + eps)
    assert first == pytest.approx(1.0 - lr * buffer1)
    v2, a2 = alpha * v1 + (1 - alpha) * 1.0, alpha * a1 + (1 - alpha) * -1.0
    buffer2 = momentum * buffer1 + -1.0 / (np.sqrt(v2 - a2**2) + eps)
    assert second == pytest.approx(first - lr * buffer2)


def test_adam_bias_correction_by_hand():
    """The first Adam step moves every coordinate by about lr, whatever the gradient's scale."""
    lr, eps = 0.1, 1e-8
    (value,) = run_steps(optim.Adam, [1.0, 1.0], [[3.0, -1e-3]], lr=lr, eps=eps)
    np.testing.assert_allclose(value, [1.0 - lr * 3.0 / (3.0 + eps), 1.0 + lr * 1e-3 / (1e-3 + eps)])
    first, second = run_steps(optim.Adam, [0.0], [[1.0], [3.0]], lr=lr, betas=(0.5, 0.75), eps=0.0)
    m, v = 0.5 * 0.5 * 1.0 + 0.5 * 3.0, 0.75 * 0.25 * 1.0 + 0.25 * 9.0
    assert second == pytest.approx(first - lr * (m / (1 - 0.5**2)) / np.sqrt(v / (1 - 0.75**2)))


def test_amsgrad_keeps_the_largest_second_moment():
    steps = run_steps(optim.Adam, [0.0], [[10.0], [0.1], [0.1]], lr=0.1, betas=(0.0, 0.5), eps=0.0, amsgrad=True)
    v_max = max(0.5 * 100.0, 0.5 * (0.5 * 100.0) + 0.5 * 0.01)  # v_1 = 50, v_2 = 25.005: the max stays 50
    assert steps[1] - steps[0] == pytest.approx(-0.1 * 0.1 / np.sqrt(v_max / (1 - 0.5**2)))


def test_adamw_decays_before_the_adam_step():
    lr, decay = 0.1, 0.5
    (value,) = run_steps(optim.AdamW, [2.0], [[1.0]], lr=lr, weight_decay=decay, eps=0.0)
    assert value == pytest.approx(2.0 * (1 - lr * decay) - lr)
    (coupled,) = run_steps(optim.Adam, [2.0], [[1.0]], lr=lr, weight_decay=decay, eps=0.0)
    assert coupled == pytest.approx(2.0 - lr)  # L2 inside Adam: the step is still ~lr, decay only rescales g


# ---- the base class ---------------------------------------------------------------------------------
ALL = [optim.SGD, optim.Adagrad, optim.Adadelta, optim.RMSprop, optim.Adam, optim.AdamW]
RICH_OPTIONS = {
    optim.SGD: dict(lr=0.1, momentum=0.9, weight_decay=0.01),
    optim.Adagrad: dict(lr=0.1, lr_decay=0.01),
    optim.Adadelta: dict(),
    optim.RMSprop: dict(momentum=0.9, centered=True),
    optim.Adam: dict(amsgrad=True, weight_decay=0.01),
    optim.AdamW: dict(),
}


def quadratic_step(params, optimizer):
    optimizer.zero_grad()
    sum(((p - 1.5) ** 2).sum() for p in params).backward()
    optimizer.step()


@pytest.mark.parametrize("optimizer_class", ALL, ids=lambda c: c.__name__)
def test_float32_stays_float32(optimizer_class):
    param = md.randn(5, 3, requires_grad=True)
    optimizer = optimizer_class([param], **RICH_OPTIONS[optimizer_class], maximize=True)
    for _ in range(3):
        quadratic_step([param], optimizer)
    assert param.dtype == md.float32 and param.grad.dtype == md.float32
    for key, value in optimizer.state[param].items():
        assert value.dtype == np.float32, key


@pytest.mark.parametrize("optimizer_class", ALL, ids=lambda c: c.__name__)
def test_state_dict_round_trip_resumes_exactly(optimizer_class):
    md.manual_seed(0)
    start = [md.randn(4, 3), md.randn(3)]
    params = [p.clone().requires_grad_() for p in start]
    optimizer = optimizer_class(params, **RICH_OPTIONS[optimizer_class])
    for _ in range(4):
        quadratic_step(params, optimizer)
    copies = [p.detach().clone().requires_grad_() for p in params]
    resumed = optimizer_class(copies, lr=123.0)  # options come back from the state dict
    resumed.load_state_dict(optimizer.state_dict())
    assert resumed.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    for _ in range(4):
        quadratic_step(params, optimizer)
        quadratic_step(copies, resumed)
    for original, copy in zip(params, copies):
        np.testing.assert_array_equal(original.detach().numpy(), copy.detach().numpy())
    # The loaded state is a copy: stepping one optimizer leaves the other's state alone.
    for key, value in resumed.state[copies[0]].items():
        assert value._data is not optimizer.state[params[0]][key]._data


def test_load_state_dict_rejects_a_different_layout():
    params = [md.randn(2, requires_grad=True), md.randn(3, requires_grad=True)]
    saved = optim.Adam(params).state_dict()
    with pytest.raises(ValueError, match="2 parameters in the state dict but 1"):
        optim.Adam(params[:1]).load_state_dict(saved)
    with pytest.raises(ValueError, match="1 parameter groups"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(saved)


def test_load_state_dict_accepts_string_indices_and_casts_to_the_parameter():
    """A state dict that went through a file may come back with string keys and other dtypes."""
    param = md.randn(3, requires_grad=True)
    optimizer = optim.Adam([param])
    saved = {
        "state": {"0": {"step": 7, "exp_avg": md.ones(3, dtype=md.float64), "exp_avg_sq": md.ones(3)}},
        "param_groups": [{"lr": 0.5, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                          "maximize": False, "params": [0]}],
    }
    optimizer.load_state_dict(saved)
    state = optimizer.state[param]
    assert state["exp_avg"].dtype == md.float32 and float(state["step"].item()) == 7.0
    param.grad = md.ones(3)
    optimizer.step()
    assert float(state["step"].item()) == 8.0


def test_zero_grad():
    param = md.randn(3, requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1)
    (param * 2).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(param.grad.numpy(), np.zeros(3))
    optimizer.zero_grad()
    assert param.grad is None


def test_step_skips_parameters_without_gradient_and_returns_the_closure_loss():
    used, unused = md.randn(2, requires_grad=True), md.randn(2, requires_grad=True)
    before = unused.detach().numpy().copy()
    optimizer = optim.Adam([used, unused], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (used**2).sum()
        loss.backward()
        return loss

    with md.no_grad():  # the closure still records its graph
        loss = optimizer.step(closure)
    assert float(loss.item()) > 0
    np.testing.assert_array_equal(unused.detach().numpy(), before)
    assert unused not in optimizer.state


def test_add_param_group_fills_defaults_and_rejects_bad_groups():
    first, second = md.randn(2, requires_grad=True), md.randn(2, requires_grad=True)
    optimizer = optim.SGD([first], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": second, "lr": 0.01})
    assert optimizer.param_groups[1]["momentum"] == 0.9 and optimizer.param_groups[1]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [first]})
    with pytest.raises(TypeError, match="not a set"):
        optimizer.add_param_group({"params": {md.randn(2, requires_grad=True)}})
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([first * 2])
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(first)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-1.0), "invalid lr"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta at index 0"),
        (lambda p: optim.Adadelta(p, rho=1.5), "rho"),
        (lambda p: optim.RMSprop(p, eps=-1e-8), "invalid eps"),
        (lambda p: optim.Adagrad(p, lr_decay=-0.1), "invalid lr_decay"),
    ],
)
def test_invalid_options_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([md.randn(2, requires_grad=True)])


def test_adagrad_state_exists_before_the_first_step_as_in_pytorch():
    param = md.randn(2, requires_grad=True)
    state = optim.Adagrad([param], initial_accumulator_value=0.25).state_dict()["state"]
    np.testing.assert_array_equal(state[0]["sum"].numpy(), [0.25, 0.25])
