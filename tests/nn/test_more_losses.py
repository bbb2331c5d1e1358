"""Margin, embedding and likelihood losses (margin_ranking ... gaussian_nll), declared once in a table: float64
values and gradients against PyTorch for every reduction, functional and module form; gradient checks; the
edge cases (zero vectors, eps, swap, full=True, weights); numerical stability and the error messages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.nn._functional import loss as likelihood
from minidl.nn._functional import margin_loss
from minidl.nn.modules import loss as loss_modules

MARGIN_LOSSES = ["margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "triplet_margin_loss",
                 "soft_margin_loss", "multilabel_soft_margin_loss", "multi_margin_loss"]
MINIDL = SimpleNamespace(
    F=SimpleNamespace(poisson_nll_loss=likelihood.poisson_nll_loss, gaussian_nll_loss=likelihood.gaussian_nll_loss,
                      **{name: getattr(margin_loss, name) for name in MARGIN_LOSSES}),
    nn=loss_modules,
    tensor=lambda a: md.tensor(a) if a.dtype.kind in "iu" else md.tensor(a, dtype=md.float64),
)
REDUCTIONS = ("mean", "sum", "none")


def _torch_lib():
    return SimpleNamespace(F=torch.nn.functional, nn=torch.nn, tensor=torch.tensor)


@dataclass
class Case:
    name: str
    fn: Callable                 # fn(lib, *tensors, **constants) -> loss
    inputs: Callable             # rng -> tuple of arrays (int64 arrays are class indices)
    grads: tuple = (0,)          # which inputs are differentiated (and compared)
    constants: Callable = lambda rng: {}   # rng -> dict of constant arrays (weights), passed as keywords

    def __repr__(self) -> str:
        return self.name


def functional(name, **kw):
    return lambda lib, *xs, **c: getattr(lib.F, name)(*xs, **c, **kw)


def module(name, **kw):
    return lambda lib, *xs, **c: getattr(lib.nn, name)(**c, **kw)(*xs)


def normal(*shape, scale=1.0):
    return lambda rng: scale * rng.standard_normal(shape)


def signs(*shape):
    return lambda rng: rng.choice([-1.0, 1.0], size=shape)


def uniform(*shape, low=0.0, high=1.0):
    return lambda rng: rng.uniform(low, high, size=shape)


def classes(high, *shape):
    return lambda rng: rng.integers(0, high, size=shape)


def draws(*makers):
    return lambda rng: tuple(make(rng) for make in makers)


def zero_row(rng):
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    x1[1] = 0.0
    return x1, x2, np.array([1.0, 1.0, -1.0, -1.0])


def swap_matters(rng):
    """Triplets whose negative lies nearer the positive than the anchor, so that swap changes the loss."""
    anchor = rng.standard_normal((5, 3))
    positive = anchor + 0.5 * rng.standard_normal((5, 3))
    negative = positive + 0.3 * rng.standard_normal((5, 3))
    negative[::2] = anchor[::2] + 2 * rng.standard_normal((3, 3))
    return anchor, positive, negative


def counts(rng):
    """Log-rates and counts that include 0, 1 (no Stirling term) and larger values (with one)."""
    return rng.standard_normal((3, 4)), np.array([[0, 1, 2, 5], [3, 0.5, 1.5, 7], [10, 1, 0.2, 4]], dtype=float)


def counts_positive(rng):
    return rng.uniform(0.2, 3.0, size=(3, 4)), rng.uniform(0.1, 6.0, size=(3, 4))


def gaussian(var_shape, small=False):
    def draw(rng):
        var = rng.uniform(0.5, 2.0, size=var_shape)
        if small:  # variances at, below and far below eps: clamped, with var's own gradient kept
            var.flat[::3], var.flat[1], var.flat[2] = 1e-8, 0.0, 1e-4
        return rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), var
    return draw


mm_weight = lambda rng: {"weight": rng.uniform(0.5, 2.0, size=4)}

CASES = []
for reduction in REDUCTIONS:
    r = {"reduction": reduction}
    CASES += [
        Case(f"margin_ranking_loss-{reduction}", functional("margin_ranking_loss", margin=0.3, **r),
             draws(normal(6), normal(6), signs(6)), grads=(0, 1, 2)),
        Case(f"hinge_embedding_loss-{reduction}", functional("hinge_embedding_loss", margin=0.8, **r),
             draws(normal(3, 4), signs(3, 4))),
        Case(f"cosine_embedding_loss-{reduction}", functional("cosine_embedding_loss", margin=0.2, **r),
             draws(normal(5, 3), normal(5, 3), signs(5)), grads=(0, 1)),
        Case(f"triplet_margin_loss-{reduction}", functional("triplet_margin_loss", **r),
             draws(normal(5, 3), normal(5, 3), normal(5, 3)), grads=(0, 1, 2)),
        Case(f"poisson_nll_loss-{reduction}", functional("poisson_nll_loss", **r), counts, grads=(0, 1)),
        Case(f"gaussian_nll_loss-{reduction}", functional("gaussian_nll_loss", **r), gaussian((4, 3)),
             grads=(0, 1, 2)),
        Case(f"soft_margin_loss-{reduction}", functional("soft_margin_loss", **r), draws(normal(3, 4, scale=3),
             signs(3, 4))),
        Case(f"multilabel_soft_margin_loss-{reduction}", functional("multilabel_soft_margin_loss", **r),
             draws(normal(3, 4, scale=3), uniform(3, 4)), grads=(0, 1)),
        Case(f"multi_margin_loss-{reduction}", functional("multi_margin_loss", **r),
             draws(normal(5, 4), classes(4, 5))),
    ]
CASES += [
    Case("margin_ranking_loss-broadcast-target", functional("margin_ranking_loss"),
         draws(normal(6), normal(6), lambda rng: np.array([-1.0])), grads=(0, 1, 2)),
    Case("hinge_embedding_loss-other-targets", functional("hinge_embedding_loss", reduction="none"),
         draws(normal(2, 3), lambda rng: np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -1.0]]))),
    Case("cosine_embedding_loss-zero-vector", functional("cosine_embedding_loss", reduction="none"), zero_row,
         grads=(0, 1)),
    Case("cosine_embedding_loss-1d", functional("cosine_embedding_loss", margin=-0.5),
         draws(normal(3), normal(3), lambda rng: np.array(-1.0)), grads=(0, 1)),
    Case("triplet_margin_loss-swap", functional("triplet_margin_loss", swap=True, reduction="none"), swap_matters,
         grads=(0, 1, 2)),
    Case("triplet_margin_loss-p1-eps", functional("triplet_margin_loss", p=1.0, eps=0.1, margin=0.5),
         draws(normal(5, 3), normal(5, 3), normal(5, 3)), grads=(0, 1, 2)),
    Case("triplet_margin_loss-p3-1d", functional("triplet_margin_loss", p=3.0, margin=2.0),
         draws(normal(3), normal(3), normal(3)), grads=(0, 1, 2)),
    Case("poisson_nll_loss-full", functional("poisson_nll_loss", full=True, reduction="none"), counts),
    Case("poisson_nll_loss-full-target-grad", functional("poisson_nll_loss", full=True), counts_positive,
         grads=(0, 1)),
    Case("poisson_nll_loss-rates", functional("poisson_nll_loss", log_input=False, reduction="sum"),
         counts_positive, grads=(0, 1)),
    Case("poisson_nll_loss-rates-full-eps", functional("poisson_nll_loss", log_input=False, full=True, eps=0.5),
         counts_positive, grads=(0, 1)),
    Case("gaussian_nll_loss-full", functional("gaussian_nll_loss", full=True, reduction="none"), gaussian((4, 3)),
         grads=(0, 1, 2)),
    Case("gaussian_nll_loss-var-short", functional("gaussian_nll_loss"), gaussian((4,)), grads=(0, 1, 2)),
    Case("gaussian_nll_loss-var-column", functional("gaussian_nll_loss", reduction="sum"), gaussian((4, 1)),
         grads=(0, 1, 2)),
    Case("gaussian_nll_loss-var-row", functional("gaussian_nll_loss", reduction="none"), gaussian((1, 3)),
         grads=(0, 1, 2)),
    Case("gaussian_nll_loss-var-below-eps", functional("gaussian_nll_loss", eps=1e-4, reduction="none"),
         gaussian((4, 3), small=True), grads=(0, 1, 2)),
    Case("gaussian_nll_loss-var-float", lambda lib, x, t: lib.F.gaussian_nll_loss(x, t, 0.7, full=True),
         draws(normal(4, 3), normal(4, 3)), grads=(0, 1)),
    Case("soft_margin_loss-large", functional("soft_margin_loss"), draws(normal(3, 4, scale=30), signs(3, 4))),
    Case("multilabel_soft_margin_loss-weight", functional("multilabel_soft_margin_loss", reduction="none"),
         draws(normal(3, 4, scale=3), uniform(3, 4)), grads=(0, 1), constants=mm_weight),
    Case("multilabel_soft_margin_loss-1d", functional("multilabel_soft_margin_loss"),
         draws(normal(4), uniform(4)), grads=(0, 1)),
    Case("multi_margin_loss-p2-margin", functional("multi_margin_loss", p=2, margin=0.7, reduction="none"),
         draws(normal(5, 4), classes(4, 5))),
    Case("multi_margin_loss-weight", functional("multi_margin_loss"), draws(normal(6, 4), classes(4, 6)),
         constants=mm_weight),
    Case("multi_margin_loss-p2-weight-sum", functional("multi_margin_loss", p=2, reduction="sum"),
         draws(normal(6, 4), classes(4, 6)), constants=mm_weight),
    Case("multi_margin_loss-1d", functional("multi_margin_loss", reduction="none"),
         draws(normal(4), lambda rng: np.array(2))),
    Case("multi_margin_loss-1d-target1", functional("multi_margin_loss", reduction="none"),
         draws(normal(4), lambda rng: np.array([1]))),
    Case("MarginRankingLoss", module("MarginRankingLoss", margin=0.1, reduction="sum"),
         draws(normal(6), normal(6), signs(6)), grads=(0, 1, 2)),
    Case("HingeEmbeddingLoss", module("HingeEmbeddingLoss", margin=0.5), draws(normal(3, 4), signs(3, 4))),
    Case("CosineEmbeddingLoss", module("CosineEmbeddingLoss", margin=0.1, reduction="none"),
         draws(normal(5, 3), normal(5, 3), signs(5)), grads=(0, 1)),
    Case("TripletMarginLoss", module("TripletMarginLoss", margin=0.5, p=1.0, swap=True), swap_matters,
         grads=(0, 1, 2)),
    Case("PoissonNLLLoss", module("PoissonNLLLoss", log_input=False, full=True, eps=1e-3), counts_positive,
         grads=(0, 1)),
    Case("GaussianNLLLoss", module("GaussianNLLLoss", full=True, eps=1e-3, reduction="sum"), gaussian((4, 1)),
         grads=(0, 1, 2)),
    Case("SoftMarginLoss", module("SoftMarginLoss", reduction="none"), draws(normal(3, 4), signs(3, 4))),
    Case("MultiLabelSoftMarginLoss", module("MultiLabelSoftMarginLoss"),
         draws(normal(3, 4), uniform(3, 4)), grads=(0, 1), constants=mm_weight),
    Case("MultiMarginLoss", module("MultiMarginLoss", p=2, margin=0.5, reduction="none"),
         draws(normal(5, 4), classes(4, 5)), constants=mm_weight),
]


def _tensors(lib, arrays, grads):
    return [lib.tensor(a).requires_grad_(i in grads) if a.dtype.kind == "f" else lib.tensor(a)
            for i, a in enumerate(arrays)]


def _run(case, lib, seed=0):
    rng = np.random.default_rng(seed)
    arrays = case.inputs(rng)
    constants = {k: lib.tensor(v) for k, v in case.constants(rng).items()}
    xs = _tensors(lib, arrays, case.grads)
    return xs, case.fn(lib, *xs, **constants)


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_torch(case):
    xs, out = _run(case, MINIDL)
    txs, expected = _run(case, _torch_lib())
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    for i in case.grads:
        # 1e-8: the zero-vector cases have gradients of 1e6, where the order of float64 roundings shows
        np.testing.assert_allclose(xs[i].grad.numpy(), txs[i].grad.numpy(), rtol=1e-8, atol=1e-12)


GRADCHECKED = ["margin_ranking_loss-none", "hinge_embedding_loss-sum", "cosine_embedding_loss-mean",
               "triplet_margin_loss-swap", "poisson_nll_loss-rates-full-eps", "gaussian_nll_loss-var-column",
               "soft_margin_loss-mean", "multilabel_soft_margin_loss-weight", "multi_margin_loss-p2-weight-sum"]


@pytest.mark.parametrize("case", [c for c in CASES if c.name in GRADCHECKED], ids=repr)
def test_gradcheck(case):
    rng = np.random.default_rng(0)
    arrays = case.inputs(rng)
    constants = {k: MINIDL.tensor(v) for k, v in case.constants(rng).items()}
    xs = _tensors(MINIDL, arrays, case.grads)

    def fn(*differentiated):
        inputs = list(xs)
        for i, x in zip(case.grads, differentiated):
            inputs[i] = x
        return case.fn(MINIDL, *inputs, **constants)

    assert gradcheck(fn, tuple(xs[i] for i in case.grads))


@pytest.mark.parametrize("fn", [
    lambda x, y: margin_loss.soft_margin_loss(x, y.sign()),
    lambda x, y: margin_loss.multilabel_soft_margin_loss(x, y.sigmoid()),
    lambda x, y: margin_loss.cosine_embedding_loss(x, y, md.tensor([1.0, -1.0, 1.0], dtype=md.float64)),
    lambda x, y: margin_loss.triplet_margin_loss(x, y, x * y, swap=True),
    lambda x, y: likelihood.poisson_nll_loss(x, y.exp(), full=True),
    lambda x, y: likelihood.gaussian_nll_loss(x, y, x * x + 0.5, full=True),
], ids=["soft_margin", "multilabel_soft_margin", "cosine_embedding", "triplet", "poisson", "gaussian"])
def test_second_derivatives(fn):
    x = md.randn(3, 4, dtype=md.float64, requires_grad=True)
    y = md.randn(3, 4, dtype=md.float64, requires_grad=True)
    assert gradgradcheck(fn, (x, y))


def _vectors(*shapes):
    return lambda: tuple(md.rand(*shape) + 0.1 for shape in shapes)


def _with(make, *extra):
    return lambda: make() + tuple(e() for e in extra)


MODULE_FORMS = [
    (loss_modules.MarginRankingLoss(0.2, reduction="sum"),
     partial(margin_loss.margin_ranking_loss, margin=0.2, reduction="sum"),
     _with(_vectors((6,), (6,)), lambda: md.randn(6))),
    (loss_modules.HingeEmbeddingLoss(0.5), partial(margin_loss.hinge_embedding_loss, margin=0.5),
     _with(_vectors((4, 3)), lambda: md.randn(4, 3).sign())),
    (loss_modules.CosineEmbeddingLoss(0.1), partial(margin_loss.cosine_embedding_loss, margin=0.1),
     _with(_vectors((4, 3), (4, 3)), lambda: md.tensor([1.0, -1.0, 1.0, -1.0]))),
    (loss_modules.TripletMarginLoss(0.5, 1.0, 0.01, True),
     partial(margin_loss.triplet_margin_loss, margin=0.5, p=1.0, eps=0.01, swap=True), _vectors(*[(4, 3)] * 3)),
    (loss_modules.PoissonNLLLoss(False, True, eps=0.1),
     partial(likelihood.poisson_nll_loss, log_input=False, full=True, eps=0.1), _vectors((4, 3), (4, 3))),
    (loss_modules.GaussianNLLLoss(full=True, eps=0.5), partial(likelihood.gaussian_nll_loss, full=True, eps=0.5),
     _vectors((4, 3), (4, 3), (4, 1))),
    (loss_modules.SoftMarginLoss(reduction="none"), partial(margin_loss.soft_margin_loss, reduction="none"),
     _with(_vectors((4, 3)), lambda: md.randn(4, 3).sign())),
    (loss_modules.MultiLabelSoftMarginLoss(md.tensor([1.0, 2.0, 0.5])),
     partial(margin_loss.multilabel_soft_margin_loss, weight=md.tensor([1.0, 2.0, 0.5])), _vectors((4, 3), (4, 3))),
    (loss_modules.MultiMarginLoss(2, 0.5, md.tensor([1.0, 2.0, 0.5])),
     partial(margin_loss.multi_margin_loss, p=2, margin=0.5, weight=md.tensor([1.0, 2.0, 0.5])),
     _with(_vectors((4, 3)), lambda: md.tensor([0, 2, 1, 2]))),
]


@pytest.mark.parametrize("criterion, functional_form, make_inputs", MODULE_FORMS,
                         ids=[type(criterion).__name__ for criterion, _, _ in MODULE_FORMS])
def test_modules_equal_their_functional_form(criterion, functional_form, make_inputs):
    inputs = make_inputs()
    np.testing.assert_array_equal(criterion(*inputs).numpy(), functional_form(*inputs).numpy())


def test_weighted_modules_register_their_weight_as_a_buffer():
    assert list(loss_modules.MultiMarginLoss(weight=md.ones(3)).state_dict()) == ["weight"]
    assert list(loss_modules.MultiLabelSoftMarginLoss(weight=md.ones(3)).state_dict()) == ["weight"]
    assert list(loss_modules.TripletMarginLoss().state_dict()) == []


def test_soft_margin_losses_are_finite_for_huge_logits():
    logits = md.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], requires_grad=True)
    labels = md.tensor([[-1.0, 1.0, 1.0], [1.0, -1.0, -1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        soft = margin_loss.soft_margin_loss(logits, labels, reduction="sum")
        multilabel = margin_loss.multilabel_soft_margin_loss(logits, (labels + 1) / 2, reduction="sum")
        (soft + multilabel).backward()
    assert soft.item() == pytest.approx(4.5e4 + np.log(2)) and multilabel.item() == pytest.approx(soft.item() / 3)
    assert np.isfinite(logits.grad.numpy()).all() and logits.grad.dtype == md.float32


def test_poisson_full_keeps_target_gradients_finite_at_zero_counts():
    target = md.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with np.errstate(all="raise"):
        loss = likelihood.poisson_nll_loss(md.zeros(3), target, full=True, reduction="sum")
        loss.backward()
    stirling = 4 * np.log(4) - 4 + 0.5 * np.log(2 * np.pi * 4)
    assert loss.item() == pytest.approx(3 + stirling)
    assert target.grad.tolist() == pytest.approx([0.0, 0.0, np.log(4) + 1 / 8])


@pytest.mark.parametrize("call, error, message", [
    (lambda: margin_loss.margin_ranking_loss(md.randn(3), md.randn(3), md.randn(3, 1)), ValueError,
     r"margin_ranking_loss: input1, input2, target must have the same number of dims.*target \(3, 1\)"),
    (lambda: margin_loss.margin_ranking_loss(md.randn(3), md.randn(3), md.randn(2)), ValueError,
     r"margin_ranking_loss: input1 - input2 of shape \(3,\) and target of shape \(2,\) do not broadcast"),
    (lambda: margin_loss.hinge_embedding_loss(md.randn(3), md.randn(3), reduction="avg"), ValueError,
     "hinge_embedding_loss: reduction must be one of"),
    (lambda: margin_loss.cosine_embedding_loss(md.randn(3, 2), md.randn(3, 2), md.ones(3, 1)), ValueError,
     r"cosine_embedding_loss: expected a 0-D or 1-D target .* got shape \(3, 1\)"),
    (lambda: margin_loss.cosine_embedding_loss(md.randn(3, 2), md.randn(3, 2), md.tensor(1.0)), ValueError,
     r"a 0-D target expects 1-D inputs, got input1 of shape \(3, 2\)"),
    (lambda: margin_loss.cosine_embedding_loss(md.randn(3, 2), md.randn(3, 4), md.ones(3)), ValueError,
     "cosine_embedding_loss: input1 of shape"),
    (lambda: margin_loss.triplet_margin_loss(md.randn(3, 2), md.randn(3, 2), md.randn(3, 2), margin=0), ValueError,
     "triplet_margin_loss: margin must be greater than 0, got 0"),
    (lambda: margin_loss.triplet_margin_loss(md.randn(3, 2), md.randn(2), md.randn(3, 2)), ValueError,
     "triplet_margin_loss: anchor, positive, negative must have the same number of dims"),
    (lambda: margin_loss.triplet_margin_loss(md.randn(3, 2), md.randn(3, 2), md.randn(3, 2), p="l2"), TypeError,
     "pairwise_distance: p must be a real number"),
    (lambda: loss_modules.TripletMarginLoss(margin=-1.0), ValueError, "TripletMarginLoss: margin must be greater"),
    (lambda: likelihood.poisson_nll_loss(md.randn(3), md.randn(2)), ValueError,
     r"poisson_nll_loss: input of shape \(3,\) and target of shape \(2,\) do not broadcast"),
    (lambda: likelihood.poisson_nll_loss(md.randn(3), md.randn(3), reduction="batchmean"), ValueError,
     "poisson_nll_loss: reduction must be one of"),
    (lambda: likelihood.gaussian_nll_loss(md.randn(4, 3), md.randn(4, 3), md.tensor([1.0, -0.5, 1.0])), ValueError,
     "gaussian_nll_loss: var has negative entries"),
    (lambda: likelihood.gaussian_nll_loss(md.randn(4, 3), md.randn(4, 3), -1.0), ValueError,
     "gaussian_nll_loss: var must be non-negative, got -1.0"),
    (lambda: likelihood.gaussian_nll_loss(md.randn(4, 3), md.randn(4, 3), md.ones(2, 3)), ValueError,
     r"gaussian_nll_loss: var of shape \(2, 3\) does not fit input of shape \(4, 3\)"),
    (lambda: likelihood.gaussian_nll_loss(md.randn(4, 3, 2), md.randn(4, 3, 2), md.ones(4, 1, 1)), ValueError,
     "exactly one dim of size 1"),
    (lambda: likelihood.gaussian_nll_loss(md.randn(4, 3), md.randn(4, 3), "one"), TypeError,
     "gaussian_nll_loss: var must be a tensor or a number, got str"),
    (lambda: margin_loss.soft_margin_loss(md.randn(3, 4), md.randn(3)), ValueError,
     r"soft_margin_loss: input of shape \(3, 4\) and target of shape \(3,\) do not broadcast"),
    (lambda: margin_loss.multilabel_soft_margin_loss(md.randn(3, 4), md.rand(3, 4), md.ones(3)), ValueError,
     r"multilabel_soft_margin_loss: input of shape \(3, 4\) and weight of shape \(3,\)"),
    (lambda: margin_loss.multi_margin_loss(md.randn(3, 4), md.tensor([0, 1, 2]), p=3), ValueError,
     "multi_margin_loss: only p == 1 and p == 2 are supported, got p=3"),
    (lambda: margin_loss.multi_margin_loss(md.randn(3, 4), md.tensor([0, 4, 2])), IndexError,
     "multi_margin_loss: target 4 is out of bounds for 4 classes"),
    (lambda: margin_loss.multi_margin_loss(md.randn(3, 4), md.tensor([0, 1])), ValueError,
     r"multi_margin_loss: target must hold one class index per sample, shape \(3,\), got shape \(2,\)"),
    (lambda: margin_loss.multi_margin_loss(md.randn(3, 4), md.tensor([0.0, 1.0, 2.0])), TypeError,
     "multi_margin_loss: target must be an integer tensor"),
    (lambda: margin_loss.multi_margin_loss(md.randn(2, 3, 4), md.tensor([0, 1])), ValueError,
     r"multi_margin_loss: expected input \(N, C\) or \(C,\)"),
    (lambda: margin_loss.multi_margin_loss(md.randn(3, 4), md.tensor([0, 1, 2]), weight=md.ones(3)), ValueError,
     r"multi_margin_loss: weight must have shape \(4,\)"),
    (lambda: loss_modules.MultiMarginLoss(p=0), ValueError, "MultiMarginLoss: only p == 1 and p == 2"),
    (lambda: loss_modules.MultiMarginLoss(weight=md.ones(2, 2)), ValueError,
     "MultiMarginLoss: weight must be one-dimensional"),
])
def test_errors_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()
