"""One declaration per differentiable op; tests/test_ops.py turns each into tests.

Each case's ``fn(lib, *xs)`` is written once and runs on both libraries: ``lib`` is
``minidl`` or ``torch``, and the tensors are of that library. ``shapes`` is a hypothesis
strategy of input shapes (a tuple of shapes), so broadcasting is exercised. ``domain`` keeps
inputs where the op is smooth (away from kinks, ties and poles); ``second_order`` marks ops
whose second derivative is checked too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes


@dataclass
class OpCase:
    name: str
    fn: Callable
    shapes: st.SearchStrategy
    domain: str = "real"          # real | positive | away_from_zero
    second_order: bool = True

    def __repr__(self) -> str:
        return self.name


def broadcastable(n: int = 2, min_dims: int = 0, max_dims: int = 3) -> st.SearchStrategy:
    return mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims, max_side=4).map(
        lambda result: result.input_shapes
    )


def one(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    return array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side).map(
        lambda shape: (shape,)
    )


def fixed(*shapes: tuple) -> st.SearchStrategy:
    return st.just(tuple(shapes))


def matmul_shapes() -> st.SearchStrategy:
    """Pairs (a, b) that matmul accepts, batch dims broadcasting, 1-D on either side."""

    @st.composite
    def build(draw: Callable) -> tuple:
        n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
        batch_a, batch_b = draw(broadcastable(2, 0, 2))
        a = (k,) if draw(st.booleans()) and not batch_a else batch_a + (n, k)
        b = (k,) if draw(st.booleans()) and not batch_b else batch_b + (k, m)
        return a, b

    return build()


def values(shape: tuple, domain: str, rng: np.random.Generator) -> np.ndarray:
    """float64 inputs in the op's smooth region: magnitudes in [0.3, 1.5], distinct values."""
    magnitude = rng.uniform(0.3, 1.5, size=shape)
    if domain == "positive":
        return magnitude
    return magnitude * rng.choice([-1.0, 1.0], size=shape)


def _setitem(lib, a, b):
    c = a * 1
    c[1:] = b * 2
    return c


def _inplace_chain(lib, a, b):
    c = a * 1
    c.mul_(b)
    c += b
    c.div_(b.abs() + 1)
    return c


INDEX = np.array([[0, 2, 1], [1, 1, 0]])  # row 1 repeats an index: gradients must add up
UNIQUE_INDEX = np.array([[0, 2], [3, 1]])  # scatter with repeats has no defined winner

CASES = [
    # arithmetic, broadcasting
    OpCase("add", lambda lib, a, b: a + b, broadcastable()),
    OpCase("add_scalar_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.5) + 1, broadcastable()),
    OpCase("sub", lambda lib, a, b: a - b, broadcastable()),
    OpCase("rsub", lambda lib, a: 2.0 - a, one()),
    OpCase("mul", lambda lib, a, b: a * b, broadcastable()),
    OpCase("div", lambda lib, a, b: a / b, broadcastable(), "away_from_zero"),
    OpCase("rdiv", lambda lib, a: 3.0 / a, one(), "away_from_zero"),
    OpCase("neg", lambda lib, a: -a, one()),
    OpCase("pow_tensor", lambda lib, a, b: a ** b, broadcastable(), "positive"),
    OpCase("pow_scalar", lambda lib, a: a ** 3, one()),
    OpCase("pow_fraction", lambda lib, a: a ** 0.5, one(), "positive"),
    OpCase("rpow", lambda lib, a: 2.0 ** a, one()),
    OpCase("remainder", lambda lib, a, b: a % b, broadcastable(), "positive", second_order=False),
    OpCase("maximum", lambda lib, a, b: lib.maximum(a, b), broadcastable()),
    OpCase("minimum", lambda lib, a, b: lib.minimum(a, b), broadcastable()),
    OpCase("where", lambda lib, a, b: lib.where(a > 0, a, b), broadcastable()),
    OpCase("clamp", lambda lib, a: lib.clamp(a, -0.8, 0.9), one(), "away_from_zero"),
    OpCase("clamp_tensor_bounds", lambda lib, a, b: lib.clamp(a, min=b), broadcastable()),
    # elementwise math
    OpCase("exp", lambda lib, a: lib.exp(a), one()),
    OpCase("log", lambda lib, a: lib.log(a), one(), "positive"),
    OpCase("log1p", lambda lib, a: lib.log1p(a), one(), "positive"),
    OpCase("expm1", lambda lib, a: lib.expm1(a), one()),
    OpCase("sqrt", lambda lib, a: lib.sqrt(a), one(), "positive"),
    OpCase("rsqrt", lambda lib, a: lib.rsqrt(a), one(), "positive"),
    OpCase("sin", lambda lib, a: lib.sin(a), one()),
    OpCase("cos", lambda lib, a: lib.cos(a), one()),
    OpCase("tanh", lambda lib, a: lib.tanh(a), one()),
    OpCase("sigmoid", lambda lib, a: lib.sigmoid(a), one()),
    OpCase("relu", lambda lib, a: lib.relu(a), one()),
    OpCase("relu_inplace", lambda lib, a: (a * 2).relu_(), one()),
    OpCase("F_relu_inplace", lambda lib, a: lib.nn.functional.relu(a + 0.1, inplace=True) * a, one()),
    OpCase("abs", lambda lib, a: lib.abs(a), one()),
    OpCase("sign", lambda lib, a: lib.sign(a) * a, one()),
    # reductions
    OpCase("sum_all", lambda lib, a: a.sum(), one()),
    OpCase("sum_dim", lambda lib, a: a.sum(dim=-1, keepdim=True), one(min_dims=1)),
    OpCase("sum_dims", lambda lib, a: a.sum(dim=(0, 1)), one(min_dims=2)),
    OpCase("mean_dim", lambda lib, a: a.mean(dim=0), one(min_dims=1)),
    OpCase("mean_all", lambda lib, a: a.mean(), one()),
    OpCase("var", lambda lib, a: a.var(dim=-1), one(min_dims=1, min_side=2)),
    OpCase("var_biased", lambda lib, a: a.var(dim=0, unbiased=False, keepdim=True), one(min_dims=1)),
    OpCase("std", lambda lib, a: a.std(), one(min_dims=1, min_side=2)),
    OpCase("std_correction", lambda lib, a: lib.std(a, dim=-1, correction=0), one(min_dims=1, min_side=2)),
    OpCase("prod", lambda lib, a: a.prod(dim=-1), one(min_dims=1)),
    OpCase("prod_all", lambda lib, a: a.prod(), one(max_dims=2, max_side=3)),
    OpCase("max_all", lambda lib, a: a.max(), one(), second_order=False),
    OpCase("max_dim", lambda lib, a: a.max(dim=-1)[0], one(min_dims=1), second_order=False),
    OpCase("min_dim_keepdim", lambda lib, a: a.min(dim=0, keepdim=True).values, one(min_dims=1), second_order=False),
    OpCase("amax", lambda lib, a: lib.amax(a, dim=(0, -1)), one(min_dims=2), second_order=False),
    OpCase("amin", lambda lib, a: lib.amin(a, dim=-1, keepdim=True), one(min_dims=1), second_order=False),
    OpCase("logsumexp", lambda lib, a: lib.logsumexp(a, dim=-1), one(min_dims=1)),
    OpCase("norm", lambda lib, a: lib.norm(a), one()),
    OpCase("norm_dim", lambda lib, a: lib.norm(a, dim=-1, keepdim=True), one(min_dims=1)),
    OpCase("norm_p1", lambda lib, a: lib.norm(a, p=1, dim=0), one(min_dims=1), second_order=False),
    OpCase("norm_p3", lambda lib, a: lib.norm(a, p=3), one()),
    OpCase("norm_inf", lambda lib, a: lib.norm(a, p=float("inf"), dim=-1), one(min_dims=1), second_order=False),
    OpCase("softmax", lambda lib, a: lib.softmax(a, dim=-1), one(min_dims=1)),
    OpCase("log_softmax", lambda lib, a: lib.log_softmax(a, dim=0), one(min_dims=1)),
    OpCase("cumsum", lambda lib, a: lib.cumsum(a, dim=-1), one(min_dims=1)),
    # linear algebra
    OpCase("matmul", lambda lib, a, b: a @ b, matmul_shapes()),
    OpCase("mm", lambda lib, a, b: lib.mm(a, b), fixed((3, 4), (4, 2))),
    OpCase("bmm", lambda lib, a, b: lib.bmm(a, b), fixed((2, 3, 4), (2, 4, 2))),
    OpCase("outer", lambda lib, a, b: lib.outer(a, b), fixed((3,), (4,))),
    OpCase("einsum_bmm", lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b), fixed((2, 3, 4), (2, 4, 2))),
    OpCase("einsum_sum_out", lambda lib, a, b: lib.einsum("ij,kl->il", a, b), fixed((2, 3), (4, 2))),
    OpCase("einsum_ellipsis", lambda lib, a: lib.einsum("...ij->...ji", a), fixed((2, 3, 4))),
    OpCase("einsum_implicit", lambda lib, a, b: lib.einsum("ij,jk", a, b), fixed((2, 3), (3, 2))),
    # shape
    OpCase("reshape", lambda lib, a: a.reshape(-1, 2), fixed((3, 4))),
    OpCase("view_flatten", lambda lib, a: a.view(2, -1).flatten(), fixed((2, 3, 2))),
    OpCase("flatten_range", lambda lib, a: a.flatten(1, 2), fixed((2, 3, 2, 2))),
    OpCase("unflatten", lambda lib, a: a.unflatten(1, (2, 3)), fixed((2, 6))),
    OpCase("squeeze_unsqueeze", lambda lib, a: a.unsqueeze(1).squeeze(0).unsqueeze(-1), fixed((1, 3))),
    OpCase("transpose", lambda lib, a: a.transpose(0, -1), one(min_dims=2)),
    OpCase("permute", lambda lib, a: a.permute(2, 0, 1), fixed((2, 3, 4))),
    OpCase("T", lambda lib, a: a.T, fixed((2, 3))),
    OpCase("t", lambda lib, a: a.t() * 2, one(max_dims=2)),
    OpCase("t_function", lambda lib, a, b: lib.t(a) @ b, fixed((3, 2), (3, 4))),
    OpCase("expand", lambda lib, a: a.expand(3, 2, 4) * 1, fixed((2, 1))),
    OpCase("expand_as", lambda lib, a, b: a.expand_as(b) * b, fixed((1, 3), (2, 3))),
    OpCase("repeat", lambda lib, a: a.repeat(2, 1, 3), fixed((2, 3))),
    OpCase("tile", lambda lib, a: lib.tile(a, (2,)), fixed((2, 3))),
    OpCase("flip", lambda lib, a: lib.flip(a, (0, 1)), fixed((2, 3))),
    OpCase("roll", lambda lib, a: lib.roll(a, 1, 1), fixed((2, 3))),
    OpCase("roll_flat", lambda lib, a: lib.roll(a, -2), fixed((2, 3))),
    OpCase("cat", lambda lib, a, b: lib.cat([a, b, a], dim=1), fixed((2, 3), (2, 1))),
    OpCase("stack", lambda lib, a, b: lib.stack([a, b], dim=-1), fixed((2, 3), (2, 3))),
    OpCase("split", lambda lib, a: a.split([1, 2], dim=1)[1], fixed((2, 3))),
    OpCase("split_size", lambda lib, a: lib.cat(a.split(2, dim=0)[::-1]), fixed((5, 2))),
    OpCase("chunk", lambda lib, a: a.chunk(2, dim=1)[0][:, :2] * a.chunk(2, dim=1)[1], fixed((2, 5))),
    OpCase("unbind", lambda lib, a: a.unbind(1)[2] * a.unbind(1)[0], fixed((2, 3))),
    OpCase("movedim", lambda lib, a: lib.movedim(a, 0, -1), fixed((2, 3, 4))),
    OpCase("swapaxes", lambda lib, a: lib.swapaxes(a, 0, 1), fixed((2, 3))),
    OpCase("view_as", lambda lib, a, b: a.view_as(b) * b, fixed((2, 3), (3, 2))),
    OpCase("broadcast_to", lambda lib, a: lib.broadcast_to(a, (2, 3, 4)) * 1, fixed((3, 1))),
    OpCase("clone", lambda lib, a: a.clone() * a, one()),
    OpCase("contiguous", lambda lib, a: a.T.contiguous() * 2, fixed((2, 3))),
    OpCase("dot", lambda lib, a, b: lib.dot(a, b), fixed((4,), (4,))),
    OpCase("max_elementwise", lambda lib, a, b: lib.max(a, b), broadcastable()),
    # indexing
    OpCase("index_basic", lambda lib, a: a[1:, ::2, None, -1], fixed((3, 4, 2))),
    OpCase("index_ellipsis", lambda lib, a: a[..., 0], fixed((2, 3, 2))),
    OpCase("index_advanced_dupes", lambda lib, a: a[[0, 0, 2], 1:], fixed((3, 4))),
    OpCase("index_bool_mask", lambda lib, a: a[a > 0], fixed((3, 4))),
    OpCase("setitem", _setitem, fixed((3, 4), (4,))),
    OpCase("inplace_chain", _inplace_chain, fixed((3, 4), (3, 4))),
    OpCase("gather", lambda lib, a: a.gather(1, lib.tensor(INDEX)), fixed((2, 4))),
    OpCase("scatter", lambda lib, a, b: a.scatter(1, lib.tensor(UNIQUE_INDEX), b), fixed((2, 4), (2, 2))),
    OpCase("scatter_add", lambda lib, a, b: a.scatter_add(1, lib.tensor(INDEX), b), fixed((2, 4), (2, 3))),
    OpCase("index_select", lambda lib, a: a.index_select(0, lib.tensor([2, 0, 2])), fixed((3, 2))),
    OpCase("masked_fill", lambda lib, a: a.masked_fill(a > 0, 0.5), fixed((3, 4))),
    OpCase("take_along_dim", lambda lib, a: lib.take_along_dim(a, lib.tensor([[0], [2]]), dim=1), fixed((2, 4))),
    OpCase("triu_tril", lambda lib, a: a.triu(1) * 2 + a.tril(-1), fixed((2, 3, 4))),
]


def _pad(lib):
    """F.pad lives in torch.nn.functional; minidl has it at the top level too."""
    return lib.nn.functional.pad if lib.__name__ == "torch" else lib.pad


CASES += [
    OpCase("pad_constant", lambda lib, a: _pad(lib)(a, (1, 2, 0, 1), value=0.5), fixed((2, 3, 4))),
    OpCase("pad_reflect", lambda lib, a: _pad(lib)(a, (1, 2), mode="reflect"), fixed((2, 3, 4))),
    OpCase("pad_replicate", lambda lib, a: _pad(lib)(a, (1, 2, 2, 1), mode="replicate"), fixed((1, 2, 3, 4))),
    OpCase("pad_circular", lambda lib, a: _pad(lib)(a, (1, 2, 2, 1), mode="circular"), fixed((1, 2, 3, 4))),
]

def _prob(a):
    """Values in (0, 1) from any real values (for logit), smooth."""
    return a.sigmoid() * 0.8 + 0.1


CASES += [  # compositions (minidl/ops/composed.py and the "compositions" sections of shape/indexing/linalg)
    OpCase("atan2", lambda lib, a, b: lib.atan2(a, b), broadcastable()),
    OpCase("reciprocal", lambda lib, a: lib.reciprocal(a), one(), "away_from_zero"),
    OpCase("lerp_tensor_weight", lambda lib, a, b: lib.lerp(a, b, b.abs()), broadcastable()),
    OpCase("lerp_scalar_weight", lambda lib, a, b: a.lerp(b, 0.3), broadcastable()),
    OpCase("logit", lambda lib, a: lib.logit(_prob(a)), one()),
    OpCase("logit_eps", lambda lib, a: lib.logit(_prob(a) * 1.2 - 0.1, eps=0.05), one(), second_order=False),
    OpCase("xlogy", lambda lib, a, b: lib.xlogy(a, b), broadcastable(), "positive"),
    OpCase("xlogy_zero", lambda lib, a, b: lib.xlogy(lib.where(a > 0.8, a * 0, a), b.abs()), broadcastable()),
    OpCase("frac", lambda lib, a: lib.frac(a * 3), one(), "away_from_zero"),
    OpCase("fmod", lambda lib, a, b: lib.fmod(a * 3, b), broadcastable(), "away_from_zero", second_order=False),
    OpCase("nan_to_num", lambda lib, a: lib.nan_to_num(lib.log(a) * 2), one()),
    OpCase("dist", lambda lib, a, b: lib.dist(a, b, 3), broadcastable()),
    OpCase("aminmax", lambda lib, a: lib.aminmax(a, dim=-1).max - lib.aminmax(a).min, one(min_dims=1),
           second_order=False),
    OpCase("addmm", lambda lib, a, b, c: lib.addmm(a, b, c, beta=0.5, alpha=2.0), fixed((3,), (2, 4), (4, 3))),
    OpCase("addmm_beta_zero", lambda lib, a, b, c: lib.addmm(a, b, c, beta=0), fixed((2, 3), (2, 4), (4, 3))),
    OpCase("baddbmm", lambda lib, a, b, c: lib.baddbmm(a, b, c, alpha=0.5), fixed((1, 3), (2, 3, 4), (2, 4, 3))),
    OpCase("addmv", lambda lib, a, b, c: lib.addmv(a, b, c, beta=2.0), fixed((3,), (3, 4), (4,))),
    OpCase("tensordot", lambda lib, a, b: lib.tensordot(a, b, dims=([1, 0], [2, 0])), fixed((3, 2, 4), (3, 5, 2))),
    OpCase("tensordot_int", lambda lib, a, b: lib.tensordot(a, b, 1), fixed((2, 3), (3, 4))),
    OpCase("narrow", lambda lib, a: a.narrow(1, -3, 2), fixed((2, 4))),
    OpCase("moveaxis", lambda lib, a: a.moveaxis(2, 0), fixed((2, 3, 4))),
    OpCase("hstack", lambda lib, a, b: lib.hstack([a, b, a]), fixed((2, 3), (2, 1))),
    OpCase("vstack", lambda lib, a, b: lib.vstack([a, b]), fixed((3,), (2, 3))),
    OpCase("rot90", lambda lib, a: lib.rot90(a, 1, (1, 2)) + lib.rot90(a, -1, (1, 2)), fixed((2, 3, 3))),
    OpCase("rot90_half", lambda lib, a: lib.rot90(a, 2, (0, 1)), fixed((2, 3))),
    OpCase("meshgrid_xy", lambda lib, a, b: lib.stack(lib.meshgrid(a, b, indexing="xy")) * 1, fixed((3,), (2,))),
    OpCase("meshgrid_ij", lambda lib, a, b, c: lib.meshgrid(a, b, c, indexing="ij")[2] * 1, fixed((2,), (3,), (2,))),
    OpCase("repeat_interleave", lambda lib, a: a.repeat_interleave(2, dim=1), fixed((2, 3))),
    OpCase("repeat_interleave_counts", lambda lib, a: lib.repeat_interleave(a, lib.tensor([2, 0, 1])), fixed((3,))),
    OpCase("repeat_interleave_flat", lambda lib, a: lib.repeat_interleave(a, 2), fixed((2, 2))),
    OpCase("diagonal", lambda lib, a: a.diagonal(1, 0, 2), fixed((3, 2, 4))),
    OpCase("diagonal_negative", lambda lib, a: lib.diagonal(a, -1), fixed((4, 3))),
    OpCase("diag_vector", lambda lib, a: lib.diag(a, -2), fixed((3,))),
    OpCase("diag_matrix", lambda lib, a: lib.diag(a, 1), fixed((3, 4))),
    OpCase("masked_select", lambda lib, a, b: lib.masked_select(a, b > 0), fixed((3, 4), (4,))),
    OpCase("take", lambda lib, a: lib.take(a, lib.tensor([[0, -1], [5, 0]])), fixed((2, 3))),
    OpCase("index_add", lambda lib, a, b: a.index_add(0, lib.tensor([0, 2, 0]), b, alpha=2.0), fixed((3, 2), (3, 2))),
]
