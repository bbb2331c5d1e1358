"""Every op in tests/op_cases.py: numerical gradients (first and second order, float64,
hypothesis-drawn shapes) and a differential test against PyTorch."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_cases import CASES, values
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck

SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _inputs(case, data):
    shapes = data.draw(case.shapes, label="shapes")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    return [values(shape, case.domain, rng) for shape in shapes]


def _minidl_inputs(arrays):
    return [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(data=st.data())
def test_gradcheck(case, data):
    xs = _minidl_inputs(_inputs(case, data))
    assert gradcheck(lambda *t: case.fn(md, *t), xs)


@pytest.mark.parametrize("case", [c for c in CASES if c.second_order], ids=repr)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gradgradcheck(case, data):
    xs = _minidl_inputs(_inputs(case, data))
    assert gradgradcheck(lambda *t: case.fn(md, *t), xs)


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(data=st.data())
def test_matches_torch(case, data):
    arrays = _inputs(case, data)
    xs = _minidl_inputs(arrays)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = case.fn(md, *xs), case.fn(torch, *ts)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        torch_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        mine = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        np.testing.assert_allclose(mine, torch_grad, rtol=1e-10, atol=1e-12)


def test_gradcheck_catches_a_wrong_gradient():
    class WrongSquare(md.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x  # should be 2x

    x = md.randn(3, dtype=md.float64, requires_grad=True)
    with pytest.raises(md.autograd.GradcheckError, match="analytical .* vs numerical"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_rejects_float32_inputs():
    x = md.randn(3, requires_grad=True)
    with pytest.raises(md.autograd.GradcheckError, match="float64"):
        gradcheck(lambda t: t * 2, (x,))
