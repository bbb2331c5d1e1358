"""Losses, declared once in a table: float64 gradient checks and differential tests against
PyTorch (loss value and the gradients of input and, where differentiable, target), for both the
functional and the module form; plus numerical stability for huge logits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F
from minidl.autograd import gradcheck


@dataclass
class LossCase:
    name: str
    fn: Callable                 # fn(lib, input, target, extra) -> loss; extra: dict of lib tensors
    input: Callable              # rng -> input array
    target: Callable             # rng -> target array (int64 for class indices)
    extra: Callable = lambda rng: {}   # rng -> dict of constant arrays (class weights, pos_weight)
    target_grad: bool = False

    def __repr__(self) -> str:
        return self.name


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def classes(high, *shape, ignore=None):
    def draw(rng):
        target = rng.integers(0, high, size=shape)
        if ignore is not None:
            target.reshape(-1)[::3] = ignore
        return target
    return draw


def probabilities(*shape, dim=1):
    def draw(rng):
        e = np.exp(rng.standard_normal(shape))
        return e / e.sum(dim, keepdims=True)
    return draw


def uniform(*shape, low=0.05, high=0.95):
    return lambda rng: rng.uniform(low, high, size=shape)


def away_from(*shape, points, margin=0.1):
    def draw(rng):
        x = rng.standard_normal(shape)
        for p in points:
            x = np.where(np.abs(x - p) < margin, x + 2 * margin, x)
        return x
    return draw


class_weights = lambda rng: {"weight": rng.uniform(0.5, 2.0, size=4)}


def ce(**kw):
    def fn(lib, x, t, extra):
        return lib.nn.functional.cross_entropy(x, t, **extra, **kw)
    return fn


def module(name, **kw):
    def fn(lib, x, t, extra):
        return getattr(lib.nn, name)(**extra, **kw)(x, t)
    return fn


CASES = [
    LossCase("cross_entropy", ce(), normal(5, 4), classes(4, 5)),
    LossCase("cross_entropy-sum", ce(reduction="sum"), normal(5, 4), classes(4, 5)),
    LossCase("cross_entropy-none", ce(reduction="none"), normal(5, 4), classes(4, 5)),
    LossCase("cross_entropy-weight", ce(), normal(6, 4), classes(4, 6), class_weights),
    LossCase("cross_entropy-ignore", ce(ignore_index=-100), normal(6, 4), classes(4, 6, ignore=-100)),
    LossCase("cross_entropy-ignore-class", ce(ignore_index=1, reduction="none"), normal(6, 4), classes(4, 6)),
    LossCase("cross_entropy-weight-ignore-smooth", ce(ignore_index=-1, label_smoothing=0.2), normal(6, 4),
             classes(4, 6, ignore=-1), class_weights),
    LossCase("cross_entropy-smooth-none", ce(label_smoothing=0.1, reduction="none"), normal(5, 4), classes(4, 5)),
    LossCase("cross_entropy-smooth-sum-weight", ce(label_smoothing=0.3, reduction="sum"), normal(5, 4),
             classes(4, 5), class_weights),
    LossCase("cross_entropy-2d", ce(), normal(2, 4, 3, 2), classes(4, 2, 3, 2)),
    LossCase("cross_entropy-2d-weight-none", ce(reduction="none", label_smoothing=0.1), normal(2, 4, 3),
             classes(4, 2, 3), class_weights),
    LossCase("cross_entropy-unbatched", ce(), normal(4), lambda rng: np.array(2)),
    LossCase("cross_entropy-probabilities", ce(), normal(5, 4), probabilities(5, 4), target_grad=True),
    LossCase("cross_entropy-probabilities-smooth-weight", ce(label_smoothing=0.2, reduction="sum"), normal(3, 4, 2),
             probabilities(3, 4, 2), class_weights, target_grad=True),
    LossCase("CrossEntropyLoss", module("CrossEntropyLoss", label_smoothing=0.1), normal(5, 4), classes(4, 5),
             class_weights),
    LossCase("nll_loss", lambda lib, x, t, e: lib.nn.functional.nll_loss(x.log_softmax(1), t, **e), normal(6, 4),
             classes(4, 6, ignore=-100), class_weights),
    LossCase("nll_loss-none-2d", lambda lib, x, t, e: lib.nn.functional.nll_loss(x, t, reduction="none"),
             normal(2, 4, 3), classes(4, 2, 3)),
    LossCase("NLLLoss", module("NLLLoss", reduction="sum"), normal(5, 4), classes(4, 5)),
    LossCase("mse_loss", lambda lib, x, t, e: lib.nn.functional.mse_loss(x, t), normal(3, 4), normal(3, 4),
             target_grad=True),
    LossCase("MSELoss-sum", module("MSELoss", reduction="sum"), normal(3, 4), normal(3, 4), target_grad=True),
    LossCase("l1_loss", lambda lib, x, t, e: lib.nn.functional.l1_loss(x, t, reduction="none"), normal(3, 4),
             normal(3, 4), target_grad=True),
    LossCase("L1Loss", module("L1Loss"), normal(3, 4), normal(3, 4)),
    LossCase("smooth_l1_loss", lambda lib, x, t, e: lib.nn.functional.smooth_l1_loss(x, t, beta=0.5),
             away_from(3, 4, points=(-0.5, 0.5)), lambda rng: np.zeros((3, 4)), target_grad=True),
    LossCase("SmoothL1Loss-beta0", module("SmoothL1Loss", beta=0.0), away_from(3, 4, points=(0.0,)),
             lambda rng: np.zeros((3, 4))),
    LossCase("huber_loss", lambda lib, x, t, e: lib.nn.functional.huber_loss(x, t, delta=0.7, reduction="sum"),
             away_from(3, 4, points=(-0.7, 0.7)), lambda rng: np.zeros((3, 4)), target_grad=True),
    LossCase("HuberLoss", module("HuberLoss"), away_from(3, 4, points=(-1.0, 1.0)), lambda rng: np.zeros((3, 4))),
    LossCase("binary_cross_entropy", lambda lib, x, t, e: lib.nn.functional.binary_cross_entropy(x, t),
             uniform(3, 4), uniform(3, 4, low=0, high=1), target_grad=True),
    LossCase("BCELoss-weight", module("BCELoss", reduction="none"), uniform(3, 4), uniform(3, 4, low=0, high=1),
             lambda rng: {"weight": rng.uniform(0.5, 2, size=4)}),
    LossCase("bce_with_logits", lambda lib, x, t, e: lib.nn.functional.binary_cross_entropy_with_logits(x, t),
             normal(3, 4), uniform(3, 4, low=0, high=1), target_grad=True),
    LossCase("bce_with_logits-pos_weight",
             lambda lib, x, t, e: lib.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="sum", **e),
             normal(3, 4), uniform(3, 4, low=0, high=1),
             lambda rng: {"pos_weight": rng.uniform(0.5, 3, size=4), "weight": rng.uniform(0.5, 2, size=(3, 1))},
             target_grad=True),
    LossCase("BCEWithLogitsLoss", module("BCEWithLogitsLoss", reduction="none"), normal(3, 4),
             uniform(3, 4, low=0, high=1), lambda rng: {"pos_weight": rng.uniform(0.5, 3, size=4)}),
    LossCase("kl_div", lambda lib, x, t, e: lib.nn.functional.kl_div(x.log_softmax(1), t, reduction="batchmean"),
             normal(3, 4), probabilities(3, 4), target_grad=True),
    LossCase("kl_div-log_target",
             lambda lib, x, t, e: lib.nn.functional.kl_div(x, t.log(), reduction="sum", log_target=True),
             normal(3, 4), probabilities(3, 4), target_grad=True),
    LossCase("KLDivLoss-sum", module("KLDivLoss", reduction="sum"), normal(3, 4), probabilities(3, 4)),
    LossCase("KLDivLoss-none-zeros", module("KLDivLoss", reduction="none"), normal(3, 4),
             lambda rng: np.where(probabilities(3, 4)(rng) > 0.3, 0.0, 0.5)),
]


def _arrays(case, seed=0):
    rng = np.random.default_rng(seed)
    return case.input(rng), case.target(rng), case.extra(rng)


def _target(lib, array, requires_grad):
    if array.dtype.kind in "iu":
        return lib.tensor(array)
    return lib.tensor(array, dtype=lib.float64, requires_grad=requires_grad)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_gradcheck(case):
    x_array, t_array, extra = _arrays(case)
    x = md.tensor(x_array, dtype=md.float64, requires_grad=True)
    extra = {k: md.tensor(v, dtype=md.float64) for k, v in extra.items()}
    if case.target_grad:
        t = _target(md, t_array, True)
        assert gradcheck(lambda a, b: case.fn(md, a, b, extra), (x, t))
    else:
        t = _target(md, t_array, False)
        assert gradcheck(lambda a: case.fn(md, a, t, extra), (x,))


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_torch(case):
    x_array, t_array, extra = _arrays(case)
    x = md.tensor(x_array, dtype=md.float64, requires_grad=True)
    tx = torch.tensor(x_array, requires_grad=True)
    t, tt = _target(md, t_array, case.target_grad), _target(torch, t_array, case.target_grad)
    out = case.fn(md, x, t, {k: md.tensor(v, dtype=md.float64) for k, v in extra.items()})
    expected = case.fn(torch, tx, tt, {k: torch.tensor(v) for k, v in extra.items()})
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    if case.target_grad:
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy-smooth", "bce_with_logits", "pos_weight"])
def test_huge_logits_give_finite_losses_and_gradients(loss):
    logits = md.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        if loss == "cross_entropy":
            value = F.cross_entropy(logits, md.tensor([1, 0]))
        elif loss == "cross_entropy-smooth":
            value = F.cross_entropy(logits, md.tensor([1, 2]), label_smoothing=0.1)
        elif loss == "bce_with_logits":
            value = F.binary_cross_entropy_with_logits(logits, md.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]]))
        else:
            value = F.binary_cross_entropy_with_logits(logits, md.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]]),
                                                       pos_weight=md.tensor([2.0, 3.0, 0.5]))
        value.backward()
    assert np.isfinite(value.item()) and value.item() > 1e3
    assert np.isfinite(logits.grad.numpy()).all()
    assert value.dtype == md.float32 and logits.grad.dtype == md.float32


def test_bce_clamps_the_log_at_minus_100_and_keeps_gradients_finite():
    probabilities = md.tensor([0.0, 1.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(probabilities, md.tensor([1.0, 0.0, 1.0]))
    loss.backward()
    assert loss.item() == pytest.approx(200.0 / 3)
    assert np.isfinite(probabilities.grad.numpy()).all()


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch():
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = F.cross_entropy(md.randn(3, 4), md.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())


def test_cross_entropy_second_derivative():
    x = md.randn(3, 4, dtype=md.float64, requires_grad=True)
    target = md.tensor([0, 3, 1])
    assert md.autograd.gradgradcheck(lambda t: F.cross_entropy(t, target, label_smoothing=0.1), (x,))
    assert md.autograd.gradgradcheck(
        lambda t: F.binary_cross_entropy_with_logits(t, md.ones(3, 4, dtype=md.float64) * 0.3), (x,))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.cross_entropy(md.randn(4, 3), md.tensor([0, 1, 3, 0])), IndexError, "target 3 is out of bounds"),
    (lambda: F.cross_entropy(md.randn(4, 3), md.tensor([0, 1])), ValueError, r"target \(N, \*d\)"),
    (lambda: F.cross_entropy(md.randn(4, 3), md.tensor([0, 1, 2, 0]), weight=md.ones(4)), ValueError,
     "one per class"),
    (lambda: F.cross_entropy(md.randn(4, 3), md.randn(4, 2)), ValueError, "probability targets"),
    (lambda: F.cross_entropy(md.randn(4, 3), md.tensor([0, 1, 2, 0]), reduction="avg"), ValueError, "reduction"),
    (lambda: F.binary_cross_entropy(md.tensor([1.5]), md.tensor([1.0])), ValueError, "between 0 and 1"),
    (lambda: F.binary_cross_entropy_with_logits(md.randn(4), md.randn(4, 1)), ValueError, "input's shape"),
    (lambda: F.kl_div(md.randn(2), md.rand(2), reduction="avg"), ValueError, "batchmean"),
])
def test_errors_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_mse_with_mismatched_shapes_warns_as_torch_does():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(md.randn(4, 1), md.randn(4))


def test_loss_modules_register_class_weights_as_buffers():
    criterion = nn.CrossEntropyLoss(weight=md.ones(3))
    assert list(criterion.state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=md.ones(2)).state_dict()) == ["pos_weight"]
    assert list(nn.MSELoss().state_dict()) == []
