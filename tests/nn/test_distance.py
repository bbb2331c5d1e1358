"""normalize, cosine_similarity, pairwise_distance and their modules, declared once in a table: float64 values
and input gradients against PyTorch (functional and module form), gradient checks, and the eps rules at zero
vectors."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.nn._functional import distance
from minidl.nn.modules import distance as distance_modules

MINIDL = SimpleNamespace(F=distance, nn=distance_modules)


def _torch_lib():
    return SimpleNamespace(F=torch.nn.functional, nn=torch.nn)


@dataclass
class Case:
    name: str
    fn: Callable         # fn(lib, *tensors) -> tensor; lib.F and lib.nn are minidl's or torch's
    inputs: Callable     # rng -> tuple of float arrays, all differentiated

    def __repr__(self) -> str:
        return self.name


def functional(name, **kw):
    return lambda lib, *xs: getattr(lib.F, name)(*xs, **kw)


def module(name, **kw):
    return lambda lib, *xs: getattr(lib.nn, name)(**kw)(*xs)


def normal(*shapes):
    return lambda rng: tuple(rng.standard_normal(shape) for shape in shapes)


def with_rows(*shapes, rows):
    """Normal arrays whose first array has the given rows replaced (zero or tiny vectors)."""
    def draw(rng):
        arrays = [rng.standard_normal(shape) for shape in shapes]
        for index, row in rows.items():
            arrays[0][index] = row
        return tuple(arrays)
    return draw


def close_pairs(rng):
    """Pairs that coincide in row 0 (distance = eps alone) and nearly so in row 1."""
    x1 = rng.standard_normal((3, 4))
    x2 = x1 + rng.standard_normal((3, 4))
    x2[0] = x1[0]
    x2[1] = x1[1] + 1e-3
    return x1, x2


CASES = [
    Case("normalize", functional("normalize"), normal((3, 4))),
    Case("normalize-p1-dim0", functional("normalize", p=1, dim=0), normal((3, 4))),
    Case("normalize-p3-3d", functional("normalize", p=3.0, dim=-1), normal((2, 3, 4))),
    Case("normalize-inf", functional("normalize", p=float("inf")), normal((3, 4))),
    Case("normalize-zero-row", functional("normalize"), with_rows((3, 4), rows={1: 0.0})),
    Case("normalize-eps", functional("normalize", eps=0.5), with_rows((3, 4), rows={0: 0.05})),
    Case("cosine_similarity", functional("cosine_similarity"), normal((5, 4), (5, 4))),
    Case("cosine_similarity-dim0", functional("cosine_similarity", dim=0), normal((4, 3), (4, 3))),
    Case("cosine_similarity-1d", functional("cosine_similarity", dim=0), normal((4,), (4,))),
    Case("cosine_similarity-broadcast", functional("cosine_similarity", dim=-1), normal((3, 1, 4), (2, 4))),
    Case("cosine_similarity-broadcast-dim1", functional("cosine_similarity"), normal((3, 4, 2), (4, 1))),
    Case("cosine_similarity-zero-vector", functional("cosine_similarity"), with_rows((3, 4), (3, 4), rows={1: 0.0})),
    Case("cosine_similarity-below-eps", functional("cosine_similarity", eps=1e-3),
         with_rows((3, 4), (3, 4), rows={0: 1e-4, 2: np.array([1e-4, -2e-4, 0.0, 3e-4])})),
    Case("cosine_similarity-large-eps", functional("cosine_similarity", eps=2.0), normal((4, 3), (4, 3))),
    Case("pairwise_distance", functional("pairwise_distance"), normal((5, 4), (5, 4))),
    Case("pairwise_distance-broadcast-keepdim", functional("pairwise_distance", keepdim=True), normal((5, 4), (4,))),
    Case("pairwise_distance-1d", functional("pairwise_distance"), normal((4,), (4,))),
    Case("pairwise_distance-3d", functional("pairwise_distance", p=1.0), normal((2, 3, 4), (3, 4))),
    Case("pairwise_distance-p3", functional("pairwise_distance", p=3.0, eps=0.1), normal((5, 4), (5, 4))),
    Case("pairwise_distance-inf", functional("pairwise_distance", p=float("inf")), normal((5, 4), (5, 4))),
    Case("pairwise_distance-equal-rows", functional("pairwise_distance"), close_pairs),
    Case("pairwise_distance-eps0", functional("pairwise_distance", eps=0.0, p=1.5), normal((5, 4), (5, 4))),
    Case("CosineSimilarity", module("CosineSimilarity", dim=0, eps=1e-6), normal((4, 3), (4, 3))),
    Case("PairwiseDistance", module("PairwiseDistance", p=1.0, keepdim=True), normal((5, 4), (5, 4))),
]


def _tensors(lib, arrays):
    if lib is md:
        return [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]
    return [torch.tensor(a, requires_grad=True) for a in arrays]


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_torch(case):
    arrays = case.inputs(np.random.default_rng(0))
    xs, txs = _tensors(md, arrays), _tensors(torch, arrays)
    out, expected = case.fn(MINIDL, *xs), case.fn(_torch_lib(), *txs)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


GRADCHECKED = ["normalize-p1-dim0", "normalize-eps", "cosine_similarity-broadcast", "pairwise_distance-3d",
               "pairwise_distance-p3", "CosineSimilarity"]


@pytest.mark.parametrize("case", [c for c in CASES if c.name in GRADCHECKED], ids=repr)
def test_gradcheck(case):
    xs = _tensors(md, case.inputs(np.random.default_rng(0)))
    assert gradcheck(lambda *ts: case.fn(MINIDL, *ts), tuple(xs))


@pytest.mark.parametrize("fn", [
    lambda a, b: distance.cosine_similarity(a, b),
    lambda a, b: distance.pairwise_distance(a, b, p=3.0),
    lambda a, b: distance.normalize(a * b, dim=0),
], ids=["cosine_similarity", "pairwise_distance", "normalize"])
def test_second_derivatives(fn):
    a = md.randn(3, 4, dtype=md.float64, requires_grad=True)
    b = md.randn(3, 4, dtype=md.float64, requires_grad=True)
    assert gradgradcheck(fn, (a, b))


def test_modules_equal_their_functional_form():
    a, b = md.randn(4, 3), md.randn(4, 3)
    np.testing.assert_array_equal(distance_modules.CosineSimilarity(dim=0, eps=0.1)(a, b).numpy(),
                                  distance.cosine_similarity(a, b, dim=0, eps=0.1).numpy())
    np.testing.assert_array_equal(distance_modules.PairwiseDistance(p=3.0, eps=0.0, keepdim=True)(a, b).numpy(),
                                  distance.pairwise_distance(a, b, 3.0, 0.0, keepdim=True).numpy())
    assert repr(distance_modules.PairwiseDistance()) == "PairwiseDistance(p=2.0, eps=1e-06, keepdim=False)"


def test_zero_vectors_give_zero_similarity_and_finite_gradients():
    x1 = md.zeros(2, 3, requires_grad=True)
    x2 = md.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]], requires_grad=True)
    with np.errstate(all="raise"):
        similarity = distance.cosine_similarity(x1, x2)
        similarity.sum().backward()
    assert similarity.tolist() == [0.0, 0.0]
    assert np.isfinite(x1.grad.numpy()).all() and np.isfinite(x2.grad.numpy()).all()
    assert similarity.dtype == md.float32


def test_pairwise_distance_of_equal_points_is_eps_times_root_d_with_finite_gradient():
    x = md.ones(2, 4, requires_grad=True)
    with np.errstate(all="raise"):
        d = distance.pairwise_distance(x, md.ones(2, 4))
        d.sum().backward()
    np.testing.assert_allclose(d.detach().numpy(), 2e-6, rtol=1e-5)
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("call, error, message", [
    (lambda: distance.cosine_similarity(md.randn(3, 4), md.randn(2, 4)), ValueError,
     r"cosine_similarity: x1 of shape \(3, 4\) and x2 of shape \(2, 4\) do not broadcast"),
    (lambda: distance.cosine_similarity(md.randn(4), md.randn(4)), IndexError,
     r"cosine_similarity: dim 1 is out of range .* shape \(4,\)"),
    (lambda: distance.pairwise_distance(md.randn(3, 4), md.randn(3, 5)), ValueError,
     "pairwise_distance: x1 of shape"),
    (lambda: distance.pairwise_distance(md.randn(3, 4), md.randn(3, 4), p="fro"), TypeError,
     "pairwise_distance: p must be a real number"),
    (lambda: distance.normalize(md.randn(3, 4), p=None), TypeError, "normalize: p must be a real number"),
    (lambda: distance_modules.CosineSimilarity(dim=2)(md.randn(3, 4), md.randn(3, 4)), IndexError,
     "cosine_similarity: dim 2"),
])
def test_errors_say_what_is_wrong(call, error, message):
    with pytest.raises(error, match=message):
        call()
