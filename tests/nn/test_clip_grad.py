"""nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters."""

import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.nn import utils


def params_with_grads(lib, scale=1.0, dtype=np.float32):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((3, 4)), rng.standard_normal(5), rng.standard_normal(())]
    params = []
    for value in values:
        lib_dtype = getattr(lib, np.dtype(dtype).name)
        param = lib.tensor(value, dtype=lib_dtype, requires_grad=True)
        param.grad = lib.tensor(value * scale + 0.5, dtype=lib_dtype)
        params.append(param)
    return params


NORM_CASES = [(1.0, 2.0, 10.0), (100.0, 2.0, 1.0), (0.5, 1.0, 3.0), (2.0, math.inf, 7.0), (1.5, 3.0, 4.0)]


@requires_torch
@pytest.mark.parametrize("max_norm, norm_type, scale", NORM_CASES)
def test_clip_grad_norm_matches_pytorch(max_norm, norm_type, scale):
    ours, theirs = params_with_grads(md, scale), params_with_grads(torch, scale)
    total = utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type, foreach=False)
    assert isinstance(total, md.Tensor) and total.dtype == md.float32 and total.shape == ()
    np.testing.assert_allclose(total.numpy(), expected.numpy(), rtol=1e-6)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_by_hand():
    first, second = md.zeros(2, requires_grad=True), md.zeros(1, requires_grad=True)
    first.grad, second.grad = md.tensor([3.0, 0.0]), md.tensor([4.0])
    total = utils.clip_grad_norm_([first, second], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    factor = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(first.grad.numpy(), [3.0 * factor, 0.0], rtol=1e-6)
    np.testing.assert_allclose(second.grad.numpy(), [4.0 * factor], rtol=1e-6)
    # Below the limit the gradients are untouched.
    total = utils.clip_grad_norm_(first, max_norm=10.0)
    np.testing.assert_allclose(first.grad.numpy(), [3.0 * factor, 0.0], rtol=1e-6)
    assert total.item() == pytest.approx(3.0 * factor, rel=1e-6)


def test_clip_grad_norm_skips_missing_gradients_and_handles_none_at_all():
    with_grad, without = md.ones(4, requires_grad=True), md.ones(4, requires_grad=True)
    with_grad.grad = md.full((4,), 2.0)
    assert utils.clip_grad_norm_([with_grad, without], 1.0).item() == pytest.approx(4.0)
    assert without.grad is None
    assert utils.clip_grad_norm_([without], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    param = md.zeros(2, requires_grad=True)
    param.grad = md.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="nan"):
        utils.clip_grad_norm_([param], 1.0, error_if_nonfinite=True)
    assert math.isnan(utils.clip_grad_norm_([param], 1.0).item())


def test_clip_grad_norm_keeps_float64():
    params = params_with_grads(md, 5.0, dtype=np.float64)
    total = utils.clip_grad_norm_(params, 1.0)
    assert total.dtype == md.float64 and all(p.grad.dtype == md.float64 for p in params)
    joint = math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in params))
    assert joint == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_value():
    param = md.zeros(4, requires_grad=True)
    param.grad = md.tensor([-3.0, -0.5, 0.25, 9.0])
    assert utils.clip_grad_value_(param, 1.0) is None
    np.testing.assert_array_equal(param.grad.numpy(), [-1.0, -0.5, 0.25, 1.0])
    assert param.grad.dtype == md.float32


def test_parameters_to_vector_and_back():
    params = [md.randn(2, 3, requires_grad=True), md.randn(4, requires_grad=True)]
    flat = utils.parameters_to_vector(params)
    assert flat.shape == (10,)
    np.testing.assert_array_equal(flat.detach().numpy()[:6], params[0].detach().numpy().ravel())
    flat.sum().backward()  # differentiable, as in PyTorch
    np.testing.assert_array_equal(params[1].grad.numpy(), np.ones(4))

    new = md.arange(10, dtype=md.float32)
    utils.vector_to_parameters(new, params)
    np.testing.assert_array_equal(params[0].detach().numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(params[1].detach().numpy(), [6, 7, 8, 9])
    assert params[0].requires_grad
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        utils.vector_to_parameters(md.zeros(9), params)
    with pytest.raises(TypeError, match="Tensor"):
        utils.vector_to_parameters(np.zeros(10), params)
