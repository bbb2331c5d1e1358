"""The activations of minidl/nn/_functional/activation.py and their layers, declared once in tables:
float64 values and gradients against PyTorch (with huge inputs and the exact kink points), numerical
first and second derivatives at smooth points, the layers against PyTorch's, ``inplace=True``,
rrelu's random slopes, and the error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn._functional.activation as F
import minidl.nn.modules.activation as layers
from minidl.autograd import gradcheck, gradgradcheck

# name: (call(functional, x), the input values where the function is not smooth)
FUNCTIONS = {
    "mish": (lambda f, x: f.mish(x), ()),
    "hardswish": (lambda f, x: f.hardswish(x), (-3.0, 3.0)),
    "hardsigmoid": (lambda f, x: f.hardsigmoid(x), (-3.0, 3.0)),
    "softsign": (lambda f, x: f.softsign(x), (0.0,)),
    "tanhshrink": (lambda f, x: f.tanhshrink(x), ()),
    "threshold": (lambda f, x: f.threshold(x, 0.5, -2.0), (0.5,)),
    "glu": (lambda f, x: f.glu(x), ()),
    "glu-dim0": (lambda f, x: f.glu(x, 0), ()),
    "logsigmoid": (lambda f, x: f.logsigmoid(x), ()),
    "softmin": (lambda f, x: f.softmin(x, dim=1), ()),
    "softmin-dim0": (lambda f, x: f.softmin(x, 0), ()),
    "celu": (lambda f, x: f.celu(x), (0.0,)),
    "celu-alpha": (lambda f, x: f.celu(x, alpha=0.75), (0.0,)),
    "softshrink": (lambda f, x: f.softshrink(x), (-0.5, 0.5)),
    "softshrink-lambd": (lambda f, x: f.softshrink(x, 1.5), (-1.5, 1.5)),
    "hardshrink": (lambda f, x: f.hardshrink(x), (-0.5, 0.5)),
    "hardshrink-lambd": (lambda f, x: f.hardshrink(x, lambd=1.5), (-1.5, 1.5)),
    "rrelu-eval": (lambda f, x: f.rrelu(x, 0.1, 0.3, training=False), (0.0,)),
}
SPECIAL = [-500.0, -50.0, 50.0, 500.0, -3.0, 3.0, -1.5, 1.5, -0.5, 0.5, 0.0]  # huge values, and every kink
# PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, even for float64 input (and
# its celu backward by 1/alpha rounded to float32: hence alpha=0.75 above, exact in float32).
GRAD_RTOL = {"hardsigmoid": 1e-7, "Hardsigmoid": 1e-7}


def _values(rng) -> np.ndarray:
    """(4, 6) float64: the special points, then random ones."""
    return np.concatenate([SPECIAL, rng.standard_normal(24 - len(SPECIAL)) * 3]).reshape(4, 6)


@requires_torch
@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_values_and_gradients_match_torch(name, rng):
    call, _ = FUNCTIONS[name]
    array = _values(rng)
    x_m = md.tensor(array, dtype=md.float64, requires_grad=True)
    x_t = torch.tensor(array, requires_grad=True)
    out_m, out_t = call(F, x_m), call(torch.nn.functional, x_t)
    assert out_m.dtype == md.float64 and tuple(out_m.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(out_m.detach().numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-300)
    upstream = rng.standard_normal(tuple(out_t.shape))
    (out_m * md.tensor(upstream, dtype=md.float64)).sum().backward()
    (out_t * torch.tensor(upstream)).sum().backward()
    assert np.isfinite(x_m.grad.numpy()).all()
    np.testing.assert_allclose(x_m.grad.numpy(), x_t.grad.numpy(), rtol=GRAD_RTOL.get(name, 1e-12), atol=1e-300)


# name: (call, points, values, derivatives): PyTorch's choices, checked without PyTorch
KINKS = {
    "hardswish": (F.hardswish, [-3.0, 0.0, 3.0], [0.0, 0.0, 3.0], [0.0, 0.5, 1.0]),
    "hardsigmoid": (F.hardsigmoid, [-3.0, 0.0, 3.0], [0.0, 0.5, 1.0], [0.0, 1 / 6, 0.0]),
    "threshold": (lambda x: F.threshold(x, 1.0, 5.0), [1.0, 1.5], [5.0, 1.5], [0.0, 1.0]),
    "softshrink": (lambda x: F.softshrink(x, 0.5), [-0.5, 0.5, 0.7], [0.0, 0.0, 0.2], [0.0, 0.0, 1.0]),
    "hardshrink": (lambda x: F.hardshrink(x, 0.5), [-0.5, 0.5, -0.7], [0.0, 0.0, -0.7], [0.0, 0.0, 1.0]),
    "celu": (lambda x: F.celu(x, 2.0), [0.0], [0.0], [1.0]),
    "rrelu": (lambda x: F.rrelu(x, 0.2, 0.4), [0.0, -1.0], [0.0, -0.3], [0.3, 0.3]),
    "mish": (F.mish, [0.0], [0.0], [0.6]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_derivatives_at_kinks_are_pytorchs(name):
    call, points, values, derivatives = KINKS[name]
    x = md.tensor(points, dtype=md.float64, requires_grad=True)
    out = call(x)
    out.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), values, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), derivatives, rtol=1e-12)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_first_and_second_derivatives_at_smooth_points(name, rng):
    call, kinks = FUNCTIONS[name]
    array = rng.standard_normal((4, 6)) * 2.5
    for kink in kinks:
        array[np.abs(array - kink) < 0.05] += 0.1
    x = md.tensor(array, dtype=md.float64, requires_grad=True)
    assert gradcheck(lambda t: call(F, t), (x,))
    assert gradgradcheck(lambda t: call(F, t), (x,))


@pytest.mark.parametrize("name", ["logsigmoid", "mish", "softsign", "celu", "tanhshrink", "hardswish"])
def test_huge_inputs_give_finite_values_and_gradients(name):
    call, _ = FUNCTIONS[name]
    x = md.tensor([-1e4, -800.0, 800.0, 1e4], dtype=md.float64, requires_grad=True)
    out = call(F, x)
    out.sum().backward()
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_logsigmoid_keeps_its_tiny_values():
    out = F.logsigmoid(md.tensor([50.0, -50.0], dtype=md.float64))
    np.testing.assert_allclose(out.numpy(), [-np.exp(-50.0), -50.0], rtol=1e-12)


@requires_torch
def test_softmin_implicit_dim_and_dtype_match_torch(rng):
    array = rng.standard_normal((2, 3, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns about the implicit dim
        expected = torch.nn.functional.softmin(torch.tensor(array), dtype=torch.float64).numpy()
    out = F.softmin(md.tensor(array), dtype=md.float64)
    assert out.dtype == md.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_threshold_keeps_integer_tensors_integer():
    out = F.threshold(md.tensor([1, 2, 3]), 2, 7.5)
    assert out.dtype == md.int64
    np.testing.assert_array_equal(out.numpy(), [7, 7, 3])


# ---- layers ----------------------------------------------------------------------------------------

LAYERS = [  # (class name, args, kwargs): the same in minidl and PyTorch
    ("Mish", (), {}),
    ("Mish", (), {"inplace": True}),
    ("Hardswish", (), {}),
    ("Hardsigmoid", (), {}),
    ("Softsign", (), {}),
    ("Tanhshrink", (), {}),
    ("Threshold", (0.1, 20.0), {}),
    ("Threshold", (0.1, 20.0), {"inplace": True}),
    ("GLU", (), {"dim": 1}),
    ("LogSigmoid", (), {}),
    ("Softmin", (), {"dim": 1}),
    ("CELU", (0.5,), {}),
    ("CELU", (), {"inplace": True}),
    ("Softshrink", (1.0,), {}),
    ("Hardshrink", (1.0,), {}),
    ("RReLU", (0.1, 0.4), {}),
    ("RReLU", (), {"inplace": True}),
    ("Softmax2d", (), {}),
]


@requires_torch
@pytest.mark.parametrize("name, args, kwargs", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)])
def test_layer_matches_torch(name, args, kwargs, rng):
    layer_m, layer_t = getattr(layers, name)(*args, **kwargs).eval(), getattr(torch.nn, name)(*args, **kwargs).eval()
    assert repr(layer_m) == repr(layer_t)
    array = rng.standard_normal((2, 4, 3, 2)) * 2
    leaf_m = md.tensor(array, dtype=md.float64, requires_grad=True)
    leaf_t = torch.tensor(array, requires_grad=True)
    out_m, out_t = layer_m(leaf_m * 1.0), layer_t(leaf_t * 1.0)  # non-leaves, which inplace layers may change
    np.testing.assert_allclose(out_m.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    upstream = rng.standard_normal(tuple(out_t.shape))
    (out_m * md.tensor(upstream, dtype=md.float64)).sum().backward()
    (out_t * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(leaf_m.grad.numpy(), leaf_t.grad.numpy(), rtol=GRAD_RTOL.get(name, 1e-12))


@requires_torch
def test_softmax2d_on_unbatched_input_matches_torch(rng):
    array = rng.standard_normal((3, 2, 2))
    expected = torch.nn.Softmax2d()(torch.tensor(array)).numpy()
    np.testing.assert_allclose(layers.Softmax2d()(md.tensor(array, dtype=md.float64)).numpy(), expected, rtol=1e-12)


def test_extra_repr_names_the_arguments():
    assert repr(layers.Hardswish(inplace=True)) == "Hardswish(inplace=True)"
    assert repr(layers.RReLU(0.1, 0.2, inplace=True)) == "RReLU(lower=0.1, upper=0.2, inplace=True)"
    assert repr(layers.Threshold(1, 2)) == "Threshold(threshold=1, value=2)"
    assert repr(layers.Softshrink(0.25)) == "Softshrink(0.25)"


# ---- inplace ---------------------------------------------------------------------------------------

INPLACE = {  # name: call(x, inplace)
    "mish": lambda x, inplace: F.mish(x, inplace),
    "hardswish": lambda x, inplace: F.hardswish(x, inplace=inplace),
    "hardsigmoid": lambda x, inplace: F.hardsigmoid(x, inplace=inplace),
    "threshold": lambda x, inplace: F.threshold(x, 0.2, -1.0, inplace),
    "celu": lambda x, inplace: F.celu(x, 0.8, inplace),
    "rrelu-eval": lambda x, inplace: F.rrelu(x, 0.1, 0.3, False, inplace),
    "rrelu-train": lambda x, inplace: F.rrelu(x, 0.1, 0.3, True, inplace),
    "Mish": lambda x, inplace: layers.Mish(inplace)(x),
    "RReLU-train": lambda x, inplace: layers.RReLU(inplace=inplace).train()(x),
}


def _result_and_gradient(call, array, upstream, inplace):
    md.manual_seed(3)  # rrelu draws the same slopes in both runs
    leaf = md.tensor(array, dtype=md.float64, requires_grad=True)
    hidden = leaf * 1.5
    out = call(hidden, inplace)
    assert (out is hidden) == inplace
    (out * md.tensor(upstream, dtype=md.float64)).sum().backward()
    return out.detach().numpy(), leaf.grad.numpy()


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_writes_into_the_input_with_the_out_of_place_values_and_gradients(name, rng):
    array, upstream = rng.standard_normal((3, 4)) * 3, rng.standard_normal((3, 4))
    out, grad = _result_and_gradient(INPLACE[name], array, upstream, inplace=False)
    out_inplace, grad_inplace = _result_and_gradient(INPLACE[name], array, upstream, inplace=True)
    np.testing.assert_array_equal(out_inplace, out)
    np.testing.assert_array_equal(grad_inplace, grad)


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_refuses_a_leaf_that_requires_grad(name):
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        INPLACE[name](md.randn(3, dtype=md.float64, requires_grad=True), True)


# ---- rrelu's random slopes ---------------------------------------------------------------------------


def test_rrelu_training_draws_one_slope_per_element_in_lower_upper():
    md.manual_seed(0)
    array = np.concatenate([-np.ones(20000), np.full(100, 2.0), np.zeros(100)])
    x = md.tensor(array, dtype=md.float64, requires_grad=True)
    out = F.rrelu(x, 0.2, 0.5, training=True)
    out.sum().backward()
    slopes = -out.detach().numpy()[:20000]
    assert 0.2 <= slopes.min() < 0.201 and 0.499 < slopes.max() < 0.5
    assert abs(slopes.mean() - 0.35) < 0.005 and abs(slopes.std() - 0.3 / np.sqrt(12)) < 0.005
    np.testing.assert_array_equal(out.detach().numpy()[20000:], array[20000:])  # x > 0 passes, 0 stays 0
    grad = x.grad.numpy()
    np.testing.assert_array_equal(grad[:20100], np.concatenate([slopes, np.ones(100)]))  # gradient: the slope
    assert ((grad[20100:] >= 0.2) & (grad[20100:] < 0.5)).all()  # at 0 a drawn slope too, as in PyTorch


def test_rrelu_training_is_reproducible_with_manual_seed():
    x = md.tensor(-np.ones(50, dtype=np.float32))
    md.manual_seed(7)
    first = F.rrelu(x, training=True).numpy()
    md.manual_seed(7)
    again = layers.RReLU().train()(x).numpy()
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, F.rrelu(x, training=True).numpy())


@requires_torch
def test_rrelu_evaluation_matches_torch(rng):
    array = rng.standard_normal((3, 5))
    expected = torch.nn.functional.rrelu(torch.tensor(array), 0.05, 0.45, training=False).numpy()
    np.testing.assert_allclose(F.rrelu(md.tensor(array, dtype=md.float64), 0.05, 0.45).numpy(), expected, rtol=1e-15)


# ---- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.glu(md.zeros(3, 5)), ValueError, r"glu: the size along dim -1 must be even.*\(3, 5\).*size 5"),
    (lambda: F.glu(md.zeros(4, 5), dim=1), ValueError, "glu: the size along dim 1 must be even"),
    (lambda: F.glu(md.tensor(1.0)), ValueError, "glu: does not support a 0-d tensor"),
    (lambda: F.glu(md.zeros(4, 2), dim=2), IndexError, "glu: dimension 2 is out of range"),
    (lambda: layers.Softmax2d()(md.zeros(3, 3)), ValueError, r"Softmax2d: expected input \(N, C, H, W\) or "
                                                              r"\(C, H, W\), got 2D input of shape \(3, 3\)"),
    (lambda: F.threshold(md.zeros(3), "a", 1.0), TypeError, "threshold: threshold must be a number.*str"),
    (lambda: F.threshold(md.zeros(3), 0.5, None), TypeError, "threshold: value must be a number.*NoneType"),
    (lambda: layers.Threshold(0.5, "1"), TypeError, "Threshold: value must be a number"),
    (lambda: F.softshrink(md.zeros(3), "a"), TypeError, "softshrink: lambd must be a number"),
    (lambda: F.softshrink(md.zeros(3), -0.5), ValueError, r"softshrink: lambd must be >= 0, got -0.5"),
    (lambda: layers.Softshrink(-1.0), ValueError, "Softshrink: lambd must be a number >= 0"),
    (lambda: F.hardshrink(md.zeros(3), md.tensor(0.5)), TypeError, "hardshrink: lambd must be a number.*Tensor"),
    (lambda: F.celu(md.zeros(3), 0.0), ValueError, "celu: alpha must not be 0"),
    (lambda: layers.CELU(0), ValueError, "CELU: alpha must not be 0"),
    (lambda: F.rrelu(md.zeros(3), 0.5, 0.1), ValueError, r"rrelu: lower \(0.5\) must not exceed upper \(0.1\)"),
    (lambda: layers.RReLU(0.5, 0.1), ValueError, r"RReLU: lower \(0.5\) must not exceed upper"),
    (lambda: F.mish(md.tensor([1, 2])), TypeError, "mish: expected a floating point tensor, got int64"),
    (lambda: F.rrelu(md.tensor([1, 2]), training=True), TypeError, "rrelu: expected a floating point tensor"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_errors_name_the_function_and_what_it_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()
