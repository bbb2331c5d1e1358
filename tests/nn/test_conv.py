"""Convolutions (conv1d, conv2d, conv_transpose2d, unfold, fold): float64 gradient checks and
differential tests against PyTorch over hypothesis-drawn hyperparameters, plus layer checks.

One strategy per function draws a whole case (shapes and hyperparameters that fit together);
``fn(F, *tensors)`` is written once and runs with ``minidl.nn.functional_conv`` or
``torch.nn.functional``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.nn import functional_conv as F

# PyTorch warns that it copies the input for 'same' padding with an even kernel; irrelevant here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conv_cases(draw, dims: int, transposed: bool = False):
    """``(arrays, fn)``: inputs (x, weight, bias) and ``fn(F, x, w, b)`` for one drawn configuration."""
    groups = draw(st.integers(1, 2))
    in_channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    # a transposed conv's padding stays within half the dilated kernel, so its output is not empty
    padding: object = tuple(draw(st.integers(0, d * (k - 1) // 2 if transposed else 2))
                            for k, d in zip(kernel, dilation))
    if not transposed and stride == (1,) * dims and draw(st.booleans()):
        padding = draw(st.sampled_from(["same", "valid"]))
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    pads = [0] * dims if isinstance(padding, str) else padding
    size = tuple(draw(st.integers(max(e - 2 * p, 1), max(e - 2 * p, 1) + 3)) for e, p in zip(extent, pads))
    batch = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((batch, in_channels) + size)
    if transposed:
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        weight = rng.standard_normal((in_channels, out_channels // groups) + kernel)
        fn = lambda F, x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    else:
        weight = rng.standard_normal((out_channels, in_channels // groups) + kernel)
        conv = "conv1d" if dims == 1 else "conv2d"
        fn = lambda F, x, w, b: getattr(F, conv)(x, w, b, stride, padding, dilation, groups)
    bias = rng.standard_normal(out_channels)
    return [x, weight, bias], fn


@st.composite
def unfold_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(draw(st.integers(max(d * (k - 1) + 1 - 2 * p, 1), 5)) for k, d, p in zip(kernel, dilation, padding))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if draw(st.booleans()):
        x = rng.standard_normal((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size)
        return [x], lambda F, x: F.unfold(x, kernel, dilation, padding, stride)
    blocks = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)]
    columns = rng.standard_normal((draw(st.integers(1, 2)), 2 * kernel[0] * kernel[1], blocks[0] * blocks[1]))
    return [columns], lambda F, c: F.fold(c, size, kernel, dilation, padding, stride)


CASES = {
    "conv1d": conv_cases(1),
    "conv2d": conv_cases(2),
    "conv_transpose2d": conv_cases(2, transposed=True),
    "unfold_fold": unfold_cases(),
}


def _tensors(arrays):
    return [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name", CASES)
@SETTINGS
@given(data=st.data())
def test_gradcheck(name, data):
    arrays, fn = data.draw(CASES[name])
    assert gradcheck(lambda *t: fn(F, *t), _tensors(arrays))


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d"])
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_gradgradcheck(name, data):
    arrays, fn = data.draw(CASES[name])
    assert gradgradcheck(lambda *t: fn(F, *t), _tensors(arrays))


@requires_torch
@pytest.mark.parametrize("name", CASES)
@SETTINGS
@given(data=st.data())
def test_matches_torch(name, data):
    arrays, fn = data.draw(CASES[name])
    assert_matches_torch(fn, arrays)


def assert_matches_torch(fn, arrays, rtol=1e-7, atol=1e-9):
    """Same inputs in float64: outputs and every input's gradient agree with PyTorch's."""
    xs = _tensors(arrays)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = fn(F, *xs), fn(torch.nn.functional, *ts)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


@requires_torch
def test_float32_stays_float32_and_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    wt = rng.standard_normal((8, 3, 4, 4)).astype(np.float32)
    y = F.conv2d(md.tensor(x), md.tensor(w), stride=2, padding=2)
    z = F.conv_transpose2d(y, md.tensor(wt), stride=2, padding=1)
    assert y.dtype == md.float32 and z.dtype == md.float32
    expected = torch.nn.functional.conv_transpose2d(
        torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=2), torch.tensor(wt),
        stride=2, padding=1)
    np.testing.assert_allclose(z.numpy(), expected.numpy(), rtol=1e-4, atol=1e-4)


def test_unbatched_input():
    x, w = md.randn(3, 8, 8), md.randn(4, 3, 3, 3)
    np.testing.assert_allclose(F.conv2d(x, w).numpy(), F.conv2d(x.unsqueeze(0), w)[0].numpy())
    assert F.conv1d(md.randn(3, 9), md.randn(2, 3, 3)).shape == (2, 7)


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv2d(md.randn(8, 1, 28, 28), md.randn(16, 3, 3, 3)),
     r"conv2d.* expected input with 3 channels, got tensor of shape \(8, 1, 28, 28\)"),
    (lambda: F.conv2d(md.randn(1, 3, 2, 2), md.randn(16, 3, 3, 3)), r"smaller than the kernel's extent 3x3"),
    (lambda: F.conv2d(md.randn(3, 8), md.randn(16, 3, 3, 3)), r"expected a 4-D input"),
    (lambda: F.conv2d(md.randn(1, 4, 8, 8), md.randn(3, 2, 3, 3), groups=2), r"divisible by groups"),
    (lambda: F.conv2d(md.randn(1, 3, 8, 8), md.randn(4, 3, 3, 3), stride=2, padding="same"), r"strided"),
    (lambda: F.conv2d(md.randn(1, 3, 8, 8), md.randn(4, 3, 3, 3), md.randn(3)), r"bias must have shape \(4,\)"),
    (lambda: F.conv_transpose2d(md.randn(1, 3, 4, 4), md.randn(3, 2, 3, 3), stride=2, output_padding=2),
     r"output_padding"),
    (lambda: F.fold(md.randn(1, 7, 9), (4, 4), 2), r"fold expected an input"),
])
def test_errors_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_dtype_mismatch_is_reported():
    with pytest.raises(TypeError, match=r"input of dtype float64 but a weight of dtype float32"):
        F.conv2d(md.randn(1, 3, 8, 8, dtype=md.float64), md.randn(4, 3, 3, 3))


def test_col2im_accumulates_overlaps():
    """fold(unfold(ones)) counts how many blocks cover each pixel."""
    counts = F.fold(F.unfold(md.ones(1, 1, 4, 4), 3, padding=1), (4, 4), 3, padding=1)
    expected = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]], dtype=np.float32)
    np.testing.assert_array_equal(counts.numpy()[0, 0], expected)


# ---- layers --------------------------------------------------------------------------------

LAYERS = [
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1}),
    ("Conv1d", (4, 6, 4), {"padding": "same", "dilation": 2, "groups": 2, "bias": False}),
    ("Conv2d", (3, 8, 3), {"padding": 1}),
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}),
    ("Conv2d", (2, 4, 3), {"padding": "same", "padding_mode": "reflect"}),
    ("Conv2d", (2, 4, 3), {"padding": 2, "padding_mode": "circular", "bias": False}),
    ("ConvTranspose2d", (4, 6, 5), {"stride": 2, "padding": 2, "output_padding": 1}),
    ("ConvTranspose2d", (4, 6, (3, 4)), {"stride": (2, 1), "padding": 1, "groups": 2, "dilation": 2}),
]


def _layer(name, args, kwargs):
    from minidl.nn.modules import conv

    return getattr(conv, name)(*args, **kwargs)


@requires_torch
@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_layer_matches_torch(name, args, kwargs):
    """Same state dict names and shapes, same repr; with PyTorch's weights, same outputs and gradients."""
    layer, reference = _layer(name, args, kwargs), getattr(torch.nn, name)(*args, **kwargs).double()
    mine, theirs = layer.state_dict(), reference.state_dict()
    assert {k: tuple(v.shape) for k, v in mine.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    assert repr(layer) == repr(reference)
    layer.load_state_dict({k: md.tensor(v.numpy(), dtype=md.float32) for k, v in theirs.items()})
    layer_64 = _layer(name, args, {**kwargs, "dtype": md.float64})
    layer_64.load_state_dict({k: md.tensor(v.numpy(), dtype=md.float64) for k, v in theirs.items()})
    size = (9,) if name == "Conv1d" else (7, 8)
    x = np.random.default_rng(0).standard_normal((2, args[0]) + size)
    mine_x, theirs_x = md.tensor(x, dtype=md.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = layer_64(mine_x), reference(theirs_x)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mine_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-9, atol=1e-10)
    for key, parameter in reference.named_parameters():
        np.testing.assert_allclose(getattr(layer_64, key).grad.numpy(), parameter.grad.numpy(), rtol=1e-9, atol=1e-9)
    assert layer(md.tensor(x, dtype=md.float32)).dtype == md.float32


@pytest.mark.parametrize("name, args, kwargs", LAYERS)
def test_default_init_is_pytorchs(name, args, kwargs):
    """kaiming_uniform_(a=sqrt(5)) and the bias: both U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    layer = _layer(name, args, kwargs)
    weight = layer.weight.detach().numpy()
    bound = 1 / np.sqrt(weight.shape[1] * np.prod(weight.shape[2:]))
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > bound / 2
    assert weight.dtype == np.float32 and layer.weight.requires_grad
    if layer.bias is not None:
        assert np.abs(layer.bias.detach().numpy()).max() <= bound


def test_layer_error_names_the_layer():
    layer = _layer("Conv2d", (3, 16, 3), {})
    with pytest.raises(ValueError, match=r"^Conv2d\(3, 16, kernel_size=\(3, 3\), stride=\(1, 1\)\) expected input "
                                         r"with 3 channels, got tensor of shape \(8, 1, 28, 28\)$"):
        layer(md.randn(8, 1, 28, 28))
    with pytest.raises(ValueError, match=r"^Conv2d\(3, 16.*smaller than the kernel's extent 3x3"):
        layer(md.randn(8, 3, 2, 28))


def test_conv_transpose_output_size_picks_output_padding():
    layer = _layer("ConvTranspose2d", (4, 2, 3), {"stride": 2, "padding": 1})
    x = md.randn(1, 4, 5, 5)
    assert layer(x).shape == (1, 2, 9, 9)
    assert layer(x, output_size=(10, 9)).shape == (1, 2, 10, 9)
    with pytest.raises(ValueError, match="not reachable"):
        layer(x, output_size=(12, 12))
