"""Pooling (max, average, adaptive, unpooling): float64 gradient checks and differential tests
against PyTorch (values, indices and gradients) over hypothesis-drawn hyperparameters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.nn import functional_conv as F

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _input(draw, dims: int, min_size: int = 1, max_size: int = 7) -> np.ndarray:
    """Distinct values (no ties, so the argmax is unambiguous and the max differentiable)."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(
        draw(st.integers(min_size, max_size)) for _ in range(dims))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) / 7 - 3


@st.composite
def window_pool_cases(draw, kind: str, dims: int = 2):
    """Max or average pooling: ``(input, fn(F, x))`` with kernel, stride, padding, dilation, ceil_mode."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims)) if kind == "max" else (1,) * dims
    ceil_mode = draw(st.booleans())
    extent = max(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    x = _input(draw, dims, min_size=extent)
    pool = f"{kind}_pool{dims}d"
    if kind == "max":
        return x, lambda F, x: getattr(F, pool)(x, kernel, stride, padding, dilation, ceil_mode)
    count_include_pad = draw(st.booleans())
    divisor = draw(st.sampled_from([None, None, 3])) if dims == 2 else None
    extra = (divisor,) if dims == 2 else ()
    return x, lambda F, x: getattr(F, pool)(x, kernel, stride, padding, ceil_mode, count_include_pad, *extra)


@st.composite
def adaptive_cases(draw, kind: str):
    x = _input(draw, 2)
    output_size = tuple(draw(st.one_of(st.integers(1, 2 * n), st.none())) for n in x.shape[2:])
    return x, lambda F, x: getattr(F, f"adaptive_{kind}_pool2d")(x, output_size)


@st.composite
def unpool_cases(draw):
    """max_unpool2d of a max_pool2d's output and indices (the indices come from PyTorch's or our pool)."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = tuple(draw(st.integers(k, 3)) for k in kernel)  # disjoint windows: indices don't repeat
    x = _input(draw, 2, min_size=3)
    values, indices = F.max_pool2d(md.tensor(x, dtype=md.float64), kernel, stride, return_indices=True)
    size = x.shape[2:]
    index = indices.numpy()
    return values.numpy(), lambda F, v: F.max_unpool2d(v, _like(F, index), kernel, stride, output_size=size)


def _like(F, array):
    return torch.tensor(array) if F is torch.nn.functional else md.tensor(array)


CASES = {
    "max_pool2d": window_pool_cases("max"),
    "max_pool1d": window_pool_cases("max", dims=1),
    "avg_pool2d": window_pool_cases("avg"),
    "avg_pool1d": window_pool_cases("avg", dims=1),
    "adaptive_avg_pool2d": adaptive_cases("avg"),
    "adaptive_max_pool2d": adaptive_cases("max"),
    "max_unpool2d": unpool_cases(),
}


def _tensor(x):
    return md.tensor(x, dtype=md.float64, requires_grad=True)


@pytest.mark.parametrize("name", CASES)
@SETTINGS
@given(data=st.data())
def test_gradcheck(name, data):
    x, fn = data.draw(CASES[name])
    assert gradcheck(lambda t: fn(F, t), (_tensor(x),))


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "max_unpool2d"])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gradgradcheck(name, data):
    x, fn = data.draw(CASES[name])
    assert gradgradcheck(lambda t: fn(F, t), (_tensor(x),))


@requires_torch
@pytest.mark.parametrize("name", CASES)
@SETTINGS
@given(data=st.data())
def test_matches_torch(name, data):
    x, fn = data.draw(CASES[name])
    mine, theirs = _tensor(x), torch.tensor(x, requires_grad=True)
    out, expected = fn(F, mine), fn(torch.nn.functional, theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("name", ["max_pool2d", "adaptive_max_pool2d"])
@SETTINGS
@given(data=st.data())
def test_indices_match_torch(name, data):
    x, _ = data.draw(CASES[name])
    kernel = data.draw(st.integers(1, 3))
    if name == "max_pool2d":
        ceil_mode = data.draw(st.booleans())
        call = lambda F, x: F.max_pool2d(x, kernel, 2, kernel // 2, 1, ceil_mode, return_indices=True)
    else:
        call = lambda F, x: F.adaptive_max_pool2d(x, (kernel, kernel + 1), return_indices=True)
    _, indices = call(F, md.tensor(x))
    _, expected = call(torch.nn.functional, torch.tensor(x))
    assert indices.dtype == md.int64
    np.testing.assert_array_equal(indices.numpy(), expected.numpy())


@requires_torch
def test_ties_pick_the_first_maximum_like_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = 1.0
    for call in (lambda F, t: F.max_pool2d(t, 2, return_indices=True),
                 lambda F, t: F.max_pool2d(t, 3, 1, return_indices=True)):
        mine, theirs = _tensor(x), torch.tensor(x, requires_grad=True)
        (values, indices), (expected, expected_indices) = call(F, mine), call(torch.nn.functional, theirs)
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
        values.sum().backward()
        expected.sum().backward()
        np.testing.assert_array_equal(mine.grad.numpy(), theirs.grad.numpy())


def test_float32_in_float32_out():
    x = md.randn(2, 3, 8, 8)
    for out in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, 2, 1), F.adaptive_avg_pool2d(x, 3),
                F.adaptive_max_pool2d(x, 3), F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2)):
        assert out.dtype == md.float32


def test_unpool_inverts_pool_on_the_maxima():
    x = md.rand(2, 3, 6, 6) + 0.1  # positive, so the zeros of the unpooled planes are never a max
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    restored = F.max_unpool2d(values, indices, 2)
    np.testing.assert_array_equal(F.max_pool2d(restored, 2).numpy(), values.numpy())
    assert int((restored.numpy() != 0).sum()) == values.numel()


@pytest.mark.parametrize("call, message", [
    (lambda: F.max_pool2d(md.randn(1, 1, 2, 2), 3), r"too small for kernel_size \(3, 3\)"),
    (lambda: F.max_pool2d(md.randn(1, 1, 8, 8), 2, padding=2), r"at most half of kernel_size"),
    (lambda: F.avg_pool2d(md.randn(8, 8), 2), r"expected a 4-D input"),
    (lambda: F.adaptive_avg_pool2d(md.randn(1, 1, 4, 4), (0, 2)), r"output_size must be positive"),
    (lambda: F.max_unpool2d(md.randn(1, 1, 2, 2), md.tensor(np.full((1, 1, 2, 2), 99)), 2),
     r"indices must lie in \[0, 16\)"),
])
def test_errors_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- layers --------------------------------------------------------------------------------

POOL_LAYERS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3, 2, 1), {"dilation": 1, "ceil_mode": True}),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1}),
    ("AvgPool2d", ((3, 2),), {"stride": 2, "padding": 1, "count_include_pad": False}),
    ("AvgPool2d", (3,), {"divisor_override": 2, "ceil_mode": True}),
    ("AvgPool1d", (2,), {}),
    ("AdaptiveAvgPool2d", ((3, None),), {}),
    ("AdaptiveMaxPool2d", (3,), {}),
]


@requires_torch
@pytest.mark.parametrize("name, args, kwargs", POOL_LAYERS)
def test_layer_matches_torch(name, args, kwargs):
    from minidl.nn.modules import pooling

    layer, reference = getattr(pooling, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(layer) == repr(reference)
    shape = (2, 3, 10) if name.endswith("1d") else (2, 3, 10, 9)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(layer(md.tensor(x)).numpy(), reference(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


@requires_torch
def test_unpool_layer_matches_torch():
    from minidl.nn.modules.pooling import MaxPool2d, MaxUnpool2d

    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    values, indices = MaxPool2d(2, return_indices=True)(md.tensor(x))
    reference_values, reference_indices = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    unpool, reference = MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(reference)
    np.testing.assert_array_equal(unpool(values, indices, output_size=x.shape).numpy(),
                                  reference(reference_values, reference_indices, output_size=x.shape).numpy())


def test_layer_error_names_the_layer():
    from minidl.nn.modules.pooling import MaxPool2d

    with pytest.raises(ValueError, match=r"^MaxPool2d\(kernel_size=4, .* too small for kernel_size"):
        MaxPool2d(4)(md.randn(1, 1, 3, 3))
