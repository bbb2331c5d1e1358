"""The fast paths of ``minidl/ops/``: each layout and each compiled kernel against its NumPy twin.

Convolutions pick a layout by their channel count (``conv.channels_last``) and the channels-last
col2im runs a numba kernel on NumPy arrays (``cpu_kernels``). Here every combination is forced on
small random configurations (strides, dilations, padding, transposed with output padding) and
must give the same outputs, gradients and second derivatives as the plain NumPy code.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as md
import minidl.nn.functional as F
from minidl.autograd import gradcheck, gradgradcheck
from minidl.ops import conv, cpu_kernels

CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=CHECKS)
PATHS = {  # name: (channels_last forced to, compiled kernels on)
    "nchw": (False, False),
    "channels-last numpy": (True, False),
    "channels-last numba": (True, True),
}


@pytest.fixture(params=list(PATHS))
def path(request, monkeypatch):
    layout, compiled = PATHS[request.param]
    if compiled and not cpu_kernels.ENABLED:
        pytest.skip("numba is not installed (or MINIDL_NUMBA=0)")
    # The same for every drawn example, so a function-scoped fixture is right here.
    monkeypatch.setattr(conv, "channels_last", lambda channels, kernel_w, groups: layout and groups == 1)
    monkeypatch.setattr(cpu_kernels, "ENABLED", compiled)
    return request.param


@st.composite
def conv_configs(draw, transposed: bool):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    limit = [d * (k - 1) // 2 if transposed else 2 for k, d in zip(kernel, dilation)]
    padding = tuple(draw(st.integers(0, m)) for m in limit)
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(draw(st.integers(max(e - 2 * p, 1), max(e - 2 * p, 1) + 4)) for e, p in zip(extent, padding))
    channels_in, channels_out, batch = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((batch, channels_in) + size)
    if transposed:
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        w = rng.standard_normal((channels_in, channels_out) + kernel)
        return [x, w, rng.standard_normal(channels_out)], \
            lambda F, x, w, b: F.conv_transpose2d(x, w, b, stride, padding, output_padding, 1, dilation)
    w = rng.standard_normal((channels_out, channels_in) + kernel)
    return [x, w, rng.standard_normal(channels_out)], lambda F, x, w, b: F.conv2d(x, w, b, stride, padding, dilation)


def _reference(fn, arrays, upstream):
    """Output and input gradients through the plain NCHW NumPy path."""
    saved = conv.channels_last, cpu_kernels.ENABLED
    conv.channels_last, cpu_kernels.ENABLED = (lambda *args: False), False
    try:
        tensors = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]
        out = fn(F, *tensors)
        out.backward(md.tensor(upstream, dtype=md.float64))
        return out.detach().numpy(), [t.grad.numpy() for t in tensors]
    finally:
        conv.channels_last, cpu_kernels.ENABLED = saved


@pytest.mark.parametrize("transposed", [False, True], ids=["conv2d", "conv_transpose2d"])
@SETTINGS
@given(data=st.data())
def test_every_path_agrees_with_the_nchw_numpy_path(path, transposed, data):
    arrays, fn = data.draw(conv_configs(transposed))
    tensors = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]
    out = fn(F, *tensors)
    upstream = np.random.default_rng(1).standard_normal(tuple(out.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected, expected_grads = _reference(fn, arrays, upstream)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-10)
    for t, g in zip(tensors, expected_grads):
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("transposed", [False, True], ids=["conv2d", "conv_transpose2d"])
@settings(max_examples=3, deadline=None, suppress_health_check=CHECKS)
@given(data=st.data())
def test_every_path_has_exact_first_and_second_derivatives(path, transposed, data):
    arrays, fn = data.draw(conv_configs(transposed))
    tensors = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *t: fn(F, *t), tensors)
    assert gradgradcheck(lambda *t: fn(F, *t), tensors)


def test_a_wide_convolution_runs_channels_last_in_float32():
    """The real case: 16+ channels pick channels last by themselves, and float32 stays float32."""
    assert conv.channels_last(16, 3, 1) and not conv.channels_last(1, 3, 1) and not conv.channels_last(16, 3, 2)
    rng = np.random.default_rng(0)
    x = md.tensor(rng.standard_normal((4, 16, 9, 9)).astype(np.float32), requires_grad=True)
    w = md.tensor(rng.standard_normal((8, 16, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == md.float32
    reference = F.conv2d(x.detach().double(), w.detach().double(), stride=2, padding=1)
    np.testing.assert_allclose(y.detach().numpy(), reference.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("dtype", [md.float32, md.float64])
def test_lstm_backward_kernel_agrees_with_numpy(monkeypatch, bidirectional, dtype):
    def gradients(compiled):
        monkeypatch.setattr(cpu_kernels, "ENABLED", compiled)
        md.manual_seed(0)
        lstm = md.nn.LSTM(5, 7, num_layers=2, bidirectional=bidirectional).to(dtype)
        x = md.randn(6, 3, 5, dtype=dtype, requires_grad=True)
        out, (h, c) = lstm(x)
        (out.sum() + (h * h).sum() + (c * c).sum()).backward()
        return [x.grad.numpy()] + [p.grad.numpy() for p in lstm.parameters()]

    tolerance = 1e-5 if dtype == md.float32 else 1e-12
    for ours, reference in zip(gradients(True), gradients(False)):
        np.testing.assert_allclose(ours, reference, rtol=tolerance, atol=tolerance)


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("dtype", [md.float32, md.float64])
def test_activation_backward_kernels_agree_with_numpy(monkeypatch, activation, dtype):
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    x[0, 0, :2] = 0.0  # the kink: no gradient through 0
    upstream = np.random.default_rng(1).standard_normal((5, 4, 3)).transpose(2, 1, 0)  # not contiguous

    def gradient(compiled):
        monkeypatch.setattr(cpu_kernels, "ENABLED", compiled)
        t = md.tensor(x, dtype=dtype, requires_grad=True)
        out = F.relu(t) if activation == "relu" else F.leaky_relu(t, 0.2)
        out.backward(md.tensor(upstream, dtype=dtype))
        return t.grad

    ours, reference = gradient(True), gradient(False)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours.numpy(), reference.numpy())


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 5, 2), (3, 2, 4)], ids=["BN1d (N, C)", "BN2d", "BN1d (N, C, L)"])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [md.float32, md.float64])
def test_batch_norm_kernels_agree_with_numpy(monkeypatch, shape, affine, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    upstream = rng.standard_normal(shape)

    def run(compiled):
        monkeypatch.setattr(cpu_kernels, "ENABLED", compiled)
        md.manual_seed(0)
        layer = (md.nn.BatchNorm1d if len(shape) < 4 else md.nn.BatchNorm2d)(shape[1], affine=affine).to(dtype)
        if affine:
            with md.no_grad():
                layer.weight.copy_(md.tensor(rng.standard_normal(shape[1]), dtype=dtype))
        t = md.tensor(x, dtype=dtype, requires_grad=True)
        out = layer(t)
        out.backward(md.tensor(upstream, dtype=dtype))
        arrays = [out.detach().numpy(), t.grad.numpy(), layer.running_mean.numpy(), layer.running_var.numpy()]
        return arrays + ([layer.weight.grad.numpy(), layer.bias.grad.numpy()] if affine else [])

    tolerance = 1e-5 if dtype == md.float32 else 1e-12
    rng_state = rng.bit_generator.state
    ours = run(True)
    rng.bit_generator.state = rng_state
    for got, reference in zip(ours, run(False), strict=True):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, reference, rtol=tolerance, atol=tolerance)


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
@pytest.mark.parametrize("size", [(6, 8), (7, 5)], ids=["even", "odd (last row/column unused)"])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("dtype", [md.float32, md.float64])
def test_max_pool_2x2_kernel_agrees_with_numpy(monkeypatch, size, ceil_mode, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4) + size)
    x[0, 0, :2, :2] = 1.5  # a tie: the first maximum wins
    x[0, 1, :2, :2] = -np.inf  # a window of -inf: its first element
    upstream = rng.standard_normal((3, 4) + tuple(-(-n // 2) if ceil_mode else n // 2 for n in size))
    kernel_calls = []
    monkeypatch.setattr(cpu_kernels, "_max_pool_2x2", _spy(cpu_kernels._max_pool_2x2, kernel_calls))

    def run(compiled):
        monkeypatch.setattr(cpu_kernels, "ENABLED", compiled)
        t = md.tensor(x, dtype=dtype, requires_grad=True)
        values, indices = F.max_pool2d(t, 2, ceil_mode=ceil_mode, return_indices=True)
        values.backward(md.tensor(upstream, dtype=dtype))
        return values.detach().numpy(), indices.numpy(), t.grad.numpy()

    ours = run(True)
    assert len(kernel_calls) == (0 if ceil_mode and size == (7, 5) else 1)  # hanging windows: NumPy's path
    for got, reference in zip(ours, run(False), strict=True):
        assert got.dtype == reference.dtype
        np.testing.assert_array_equal(got, reference)


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
def test_max_pool_2x2_kernel_points_at_a_nan_like_torch():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan  # window (0, 0): two NaNs, PyTorch takes the last one
    t = md.tensor(x, requires_grad=True)
    values, indices = F.max_pool2d(t, 2, return_indices=True)
    values.sum().backward()
    values = values.detach().numpy()[0, 0].ravel()
    assert np.isnan(values[0]) and indices.numpy()[0, 0, 0, 0] == 4
    np.testing.assert_array_equal(values[1:], [7, 13, 15])
    expected = np.zeros((4, 4), np.float32)
    expected[1, 0] = expected[1, 3] = expected[3, 1] = expected[3, 3] = 1
    np.testing.assert_array_equal(t.grad.numpy()[0, 0], expected)


def _spy(function, calls):
    def wrapper(*args):
        calls.append(args)
        return function(*args)
    return wrapper


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"weight_decay": 0.1, "maximize": True}],
                         ids=["adam", "amsgrad", "weight decay, maximize"])
@pytest.mark.parametrize("optimizer", ["Adam", "AdamW"])
@pytest.mark.parametrize("dtype", [md.float32, md.float64])
def test_adam_kernel_agrees_with_numpy(monkeypatch, options, optimizer, dtype):
    rng = np.random.default_rng(0)
    start = rng.standard_normal((5, 7))
    gradients = [rng.standard_normal((5, 7)) * scale for scale in (1.0, 1e-3, 10.0, 0.5)]
    calls = []
    monkeypatch.setattr(cpu_kernels, "_adam_update", _spy(cpu_kernels._adam_update, calls))

    def trajectory(compiled):
        monkeypatch.setattr(cpu_kernels, "ENABLED", compiled)
        w = md.tensor(start, dtype=dtype, requires_grad=True)
        step = getattr(md.optim, optimizer)([w], lr=0.05, betas=(0.8, 0.99), **options)
        states = []
        for gradient in gradients:
            w.grad = md.tensor(gradient, dtype=dtype)
            step.step()
            state = step.state[w]
            states += [w.detach().numpy().copy()] + [state[k].numpy().copy() for k in sorted(state) if k != "step"]
        return states

    ours = trajectory(True)
    assert len(calls) == len(gradients)
    for got, reference in zip(ours, trajectory(False), strict=True):
        assert got.dtype == reference.dtype
        np.testing.assert_array_equal(got, reference)


@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="numba is not installed (or MINIDL_NUMBA=0)")
def test_erf_kernel_is_the_c_librarys():
    import math

    from minidl.ops.activation import erf

    x = np.concatenate([np.linspace(-6, 6, 1001), [0.0, -0.0, 1e-300, 30.0, -30.0, np.inf, -np.inf, np.nan]])
    exact = np.array([math.erf(v) for v in x])
    np.testing.assert_array_equal(erf(np, x), exact)
    single = erf(np, x.astype(np.float32))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, exact.astype(np.float32), rtol=2e-7, atol=1e-7)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "gelu", "elu", "silu", "softplus", "hardtanh", "mish", "celu"])
def test_activations_keep_a_0d_shape_forward_and_backward(name):
    function = getattr(F, name)
    for value in (0.7, -0.7):
        x = md.tensor(value, requires_grad=True)
        y = function(x * 1)
        y.backward()
        with md.no_grad():
            assert function(md.tensor(value)).shape == ()
        assert y.shape == () and x.grad.shape == ()
