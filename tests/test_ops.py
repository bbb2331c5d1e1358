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

# ``device`` is a parametrised fixture holding a constant string, so reusing it across examples is safe.
QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=QUIET)


def _inputs(case, data):
    shapes = data.draw(case.shapes, label="shapes")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    rng = np.random.default_rng(seed)
    return [values(shape, case.domain, rng) for shape in shapes]


def _minidl_inputs(arrays, device="cpu"):
    return [md.tensor(a, dtype=md.float64, device=device, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(data=st.data())
def test_gradcheck(case, data, device):
    xs = _minidl_inputs(_inputs(case, data), device)
    assert gradcheck(lambda *t: case.fn(md, *t), xs)


@pytest.mark.parametrize("case", [c for c in CASES if c.second_order], ids=repr)
@settings(max_examples=4, deadline=None, suppress_health_check=QUIET)
@given(data=st.data())
def test_gradgradcheck(case, data, device):
    xs = _minidl_inputs(_inputs(case, data), device)
    assert gradgradcheck(lambda *t: case.fn(md, *t), xs)


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(data=st.data())
def test_matches_torch(case, data, device):
    arrays = _inputs(case, data)
    xs = _minidl_inputs(arrays, device)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = case.fn(md, *xs), case.fn(torch, *ts)
    assert out.device == md.device(device)
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64, device=device))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        torch_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        mine = np.zeros(x.shape) if x.grad is None else x.grad.cpu().numpy()
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


@requires_torch
def test_prod_gradient_with_zeros_matches_torch():
    data = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    for dim in (None, 1):
        x = md.tensor(data, dtype=md.float64, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        (x.prod() if dim is None else x.prod(dim)).sum().backward()
        (t.prod() if dim is None else t.prod(dim)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("op", ["log_softmax", "softmax", "logsumexp"])
def test_huge_logits_stay_finite(op):
    x = md.tensor([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]], requires_grad=True)
    y = getattr(x, op)(1)
    (y * md.tensor([1.0, 2.0, 3.0]) if y.ndim == 2 else y).sum().backward()
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_sigmoid_saturates_without_overflow():
    x = md.tensor([-1e4, 0.0, 1e4], requires_grad=True)
    with np.errstate(over="raise"):
        y = x.sigmoid()
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [0.0, 0.5, 1.0])
    assert np.isfinite(x.grad.numpy()).all()


def test_float32_stays_float32():
    """No accidental float64 upcasts from Python scalars or internal constants."""
    x = md.randn(3, 4, requires_grad=True)
    outputs = [
        x * 2.5, x / 3, 2.0 ** x, x ** 0.5, x.sigmoid(), x.softmax(1), x.log_softmax(1), x.logsumexp(1),
        x.var(1), x.std(), x.norm(), x.mean(), md.where(x > 0, x, 0.0), x.clamp(-1, 1), x.masked_fill(x > 0, 1.0),
    ]
    for y in outputs:
        assert y.dtype == md.float32, y
    sum(y.sum() for y in outputs).backward()
    assert x.grad.dtype == md.float32
