"""Resampling (``F.interpolate`` nearest / linear / bilinear / area): float64 gradient checks and
differential tests against PyTorch over hypothesis-drawn sizes, scale factors and modes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.nn import functional_conv as F

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def interpolate_cases(draw):
    """``(input, kwargs)``: a mode, its input rank, and either ``size`` or ``scale_factor``."""
    mode = draw(st.sampled_from(["nearest", "nearest", "linear", "bilinear", "bilinear", "area"]))
    dims = {"linear": 1, "bilinear": 2, "area": 2}.get(mode, draw(st.integers(1, 2)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 5)) for _ in range(dims))
    kwargs: dict = {"mode": mode}
    if mode in ("linear", "bilinear"):
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()) or mode == "area":
        kwargs["size"] = tuple(draw(st.integers(1, 9)) for _ in range(dims))
    else:
        factor = st.sampled_from([0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
        kwargs["scale_factor"] = tuple(draw(factor) for _ in range(dims)) if draw(st.booleans()) else draw(factor)
        if any(int(n * f) < 1 for n, f in zip(shape[2:], np.broadcast_to(kwargs["scale_factor"], (dims,)))):
            kwargs["scale_factor"] = 2.0
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)
    return x, kwargs


@SETTINGS
@given(case=interpolate_cases())
def test_gradcheck(case):
    x, kwargs = case
    assert gradcheck(lambda t: F.interpolate(t, **kwargs), (md.tensor(x, dtype=md.float64, requires_grad=True),))


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=interpolate_cases())
def test_gradgradcheck(case):
    x, kwargs = case
    assert gradgradcheck(lambda t: F.interpolate(t, **kwargs), (md.tensor(x, dtype=md.float64, requires_grad=True),))


@requires_torch
@SETTINGS
@given(case=interpolate_cases(), float32=st.booleans())
def test_matches_torch(case, float32):
    x, kwargs = case
    dtype, tolerance = (np.float32, 1e-5) if float32 else (np.float64, 1e-12)
    x = x.astype(dtype)
    mine = md.tensor(x, dtype=md.float32 if float32 else md.float64, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, expected = F.interpolate(mine, **kwargs), torch.nn.functional.interpolate(theirs, **kwargs)
    assert out.dtype == mine.dtype
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=tolerance, atol=tolerance)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape)).astype(dtype)
    out.backward(md.tensor(upstream, dtype=mine.dtype))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=tolerance, atol=tolerance)


def test_nearest_upscale_repeats_pixels():
    x = md.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=2).numpy()[0, 0], expected)


@pytest.mark.parametrize("kwargs, message", [
    ({"size": 4, "scale_factor": 2}, "exactly one of size and scale_factor"),
    ({}, "exactly one of size and scale_factor"),
    ({"size": 4, "mode": "bicubic"}, "mode must be"),
    ({"size": 4, "align_corners": True}, "align_corners can only be set"),
    ({"size": 4, "mode": "linear"}, "needs a 3-D input"),
])
def test_errors_say_what_was_expected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        F.interpolate(md.randn(1, 1, 3, 3), **kwargs)


@requires_torch
@pytest.mark.parametrize("kwargs", [
    {"scale_factor": 2}, {"size": (5, 7), "mode": "bilinear", "align_corners": True},
    {"scale_factor": (1.5, 2), "mode": "bilinear"},
])
def test_upsample_layer_matches_torch(kwargs):
    from minidl.nn.modules.upsampling import Upsample

    layer, reference = Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(layer) == repr(reference)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(layer(md.tensor(x)).numpy(), reference(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


@requires_torch
def test_fold_layers_match_torch():
    from minidl.nn.modules.fold import Fold, Unfold

    unfold, fold = Unfold(3, padding=1, stride=2), Fold((7, 7), 3, padding=1, stride=2)
    assert repr(unfold) == repr(torch.nn.Unfold(3, padding=1, stride=2))
    assert repr(fold) == repr(torch.nn.Fold((7, 7), 3, padding=1, stride=2))
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32)
    expected = torch.nn.Fold((7, 7), 3, padding=1, stride=2)(torch.nn.Unfold(3, padding=1, stride=2)(torch.tensor(x)))
    np.testing.assert_allclose(fold(unfold(md.tensor(x))).numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
