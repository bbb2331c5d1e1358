"""Padding, 1-d pooling, dropout, upsampling, shuffle, instance-norm and bilinear layers beyond the
table in tests/nn/test_layers.py (which checks their gradients, values, state dicts and reprs against
PyTorch): the functional forms against PyTorch, the random layers' statistics, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F


@requires_torch
def test_functions_match_torch():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 4, 2)), rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    t = lambda a: torch.tensor(a)
    m = lambda a: md.tensor(a, dtype=md.float64)
    pairs = [
        (F.pixel_shuffle(m(x), 2), torch.nn.functional.pixel_shuffle(t(x), 2)),
        (F.pixel_unshuffle(m(x), 2), torch.nn.functional.pixel_unshuffle(t(x), 2)),
        (F.channel_shuffle(m(x), 2), torch.nn.functional.channel_shuffle(t(x), 2)),
        (F.instance_norm(m(x), m(mean), m(var), m(w), None, use_input_stats=False),
         torch.nn.functional.instance_norm(t(x), t(mean), t(var), t(w), None, use_input_stats=False)),
        (F.adaptive_avg_pool1d(m(x[0]), 2), torch.nn.functional.adaptive_avg_pool1d(t(x[0]), 2)),
        (F.bilinear(m(x[0, 0]), m(x[1, 0]), m(x[:, :3, 0]).transpose(0, 1)),
         torch.nn.functional.bilinear(t(x[0, 0]), t(x[1, 0]), t(x[:, :3, 0]).transpose(0, 1))),
    ]
    for mine, theirs in pairs:
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    values, indices = F.adaptive_max_pool1d(m(x[0]), 2, return_indices=True)
    expected_values, expected_indices = torch.nn.functional.adaptive_max_pool1d(t(x[0]), 2, return_indices=True)
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == md.int64


def test_instance_norm_running_statistics_follow_train_and_eval():
    layer = nn.InstanceNorm1d(2, momentum=None, track_running_stats=True)
    x = md.randn(4, 2, 6)
    layer(x)
    np.testing.assert_array_equal(layer.running_mean.numpy(), [0, 0])  # momentum=None: PyTorch passes 0
    layer.momentum = 0.5
    layer(x)
    data = x.numpy()
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.5 * data.mean((0, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.numpy(), 0.5 + 0.5 * data.var(2, ddof=1).mean(0), rtol=1e-5)
    assert layer.num_batches_tracked.item() == 0  # not counted, as in PyTorch
    layer.eval()
    before = layer.running_mean.numpy().copy()
    expected = (data - before[:, None]) / np.sqrt(layer.running_var.numpy()[:, None] + 1e-5)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.running_mean.numpy(), before)
    # untracked: the input's statistics in evaluation too
    untracked = nn.InstanceNorm1d(2).eval()
    np.testing.assert_allclose(untracked(x).numpy().mean(2), 0, atol=1e-6)


def test_dropout1d_zeroes_whole_channels():
    md.manual_seed(0)
    y = nn.Dropout1d(0.5)(md.ones(8, 16, 5)).numpy()
    assert np.all(y.min(2) == y.max(2)) and set(np.unique(y)) == {0.0, 2.0}
    assert 0.3 < (y[:, :, 0] == 0).mean() < 0.7
    unbatched = F.dropout1d(md.ones(16, 5), 0.5).numpy()
    assert np.all(unbatched.min(1) == unbatched.max(1))
    x = md.randn(4, 3, 5)
    assert nn.Dropout1d(0.5).eval()(x) is x and F.dropout1d(x, 0.0) is x


def test_dropout1d_gradient_follows_the_mask():
    x = md.randn(6, 8, 4, requires_grad=True)
    y = F.dropout1d(x, 0.25)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) / 0.75, rtol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_keeps_selu_statistics(p):
    md.manual_seed(1)
    x = md.randn(200_000, dtype=md.float64, requires_grad=True)
    y = nn.AlphaDropout(p)(x)
    values = y.detach().numpy()
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02
    alpha = 1.7580993408473766
    a = ((alpha ** 2 * p + 1) * (1 - p)) ** -0.5
    y.sum().backward()
    dropped = x.grad.numpy() == 0
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(x.grad.numpy()[~dropped], a, rtol=1e-12)
    np.testing.assert_allclose(values[dropped], -a * alpha * (1 - p), rtol=1e-12)
    np.testing.assert_allclose(values[~dropped], a * x.detach().numpy()[~dropped] + a * alpha * p, rtol=1e-12)


def test_alpha_dropout_defaults_and_extremes():
    x = md.randn(3, 4)
    assert F.alpha_dropout(x, 0.5) is x  # training=False by default, as PyTorch's F.alpha_dropout
    assert (F.alpha_dropout(x, 1.0, training=True).numpy() == 0).all()
    assert F.alpha_dropout(x, 0.3, training=True).dtype == md.float32


@pytest.mark.parametrize("make, shapes, message", [
    (lambda: nn.ReflectionPad1d(2), [(2, 3, 4, 5)], r"ReflectionPad1d\(\(2, 2\)\) expected input \(N, C, L\)"),
    (lambda: nn.ReflectionPad2d(3), [(1, 1, 3, 5)], r"ReflectionPad2d.*reflect padding must be smaller than"),
    (lambda: nn.CircularPad1d(4), [(1, 2, 3)], r"CircularPad1d.*circular padding must be at most"),
    (lambda: nn.ReplicationPad2d((1, 2)), [], r"ReplicationPad2d: padding must be an int or \(left, right, top"),
    (lambda: nn.ConstantPad1d(1, 0.5), [(2,)], r"ConstantPad1d\(padding=\(1, 1\), value=0.5\) expected input"),
    (lambda: nn.AdaptiveAvgPool1d(2), [(2, 3, 4, 5)], r"AdaptiveAvgPool1d\(output_size=2\) expected input"),
    (lambda: nn.AdaptiveMaxPool1d(0), [(2, 3, 4)], r"adaptive_max_pool1d: output_size must be a positive int"),
    (lambda: nn.Dropout1d(), [(2, 3, 4, 5)], r"Dropout1d\(p=0.5, inplace=False\) expected input \(N, C, L\)"),
    (lambda: nn.UpsamplingBilinear2d(scale_factor=2), [(1, 2, 3)], r"UpsamplingBilinear2d.* expected input "
     r"\(N, C, H, W\), got tensor of shape \(1, 2, 3\)"),
    (lambda: nn.PixelShuffle(2), [(1, 6, 2, 2)], r"pixel_shuffle: the channel dim \(-3\) must be divisible by "
     r"upscale_factor\*\*2 = 4, got input of shape \(1, 6, 2, 2\)"),
    (lambda: nn.PixelShuffle(2), [(4, 2)], r"pixel_shuffle: expected input \(\*, C, H, W\) with at least 3 dims"),
    (lambda: nn.PixelUnshuffle(2), [(1, 1, 3, 4)], r"pixel_unshuffle: height and width .* divisible by "
     r"downscale_factor = 2"),
    (lambda: nn.ChannelShuffle(4), [(2, 6, 3)], r"channel_shuffle: the number of channels .* divisible by "
     r"groups = 4"),
    (lambda: nn.ChannelShuffle(2), [(2, 6)], r"channel_shuffle: expected input \(N, C, \*\) with more than 2"),
    (lambda: nn.InstanceNorm2d(3), [(3, 4, 5)], None),  # unbatched (C, H, W): fine
    (lambda: nn.InstanceNorm2d(3), [(3, 4)], r"InstanceNorm2d\(3, .*\) expected input \(N, C, H, W\) or "
     r"\(C, H, W\), got tensor of shape \(3, 4\)"),
    (lambda: nn.InstanceNorm1d(3, affine=True), [(2, 4, 5)], r"InstanceNorm1d\(3, .*\) expected input with 3 "
     r"channels in dim 1"),
    (lambda: nn.InstanceNorm1d(3), [(2, 3, 1)], r"instance_norm: expected more than 1 spatial element"),
    (lambda: nn.Bilinear(3, 4, 5), [(2, 3), (2, 5)], r"Bilinear\(in1_features=3, in2_features=4, "
     r"out_features=5, bias=True\) expected input2 with 4 features in the last dim, got tensor of shape \(2, 5\)"),
    (lambda: nn.Bilinear(3, 4, 5), [(2, 3), (3, 4)], r"bilinear: input1 and input2 must have the same batch"),
])
def test_errors_name_the_layer(make, shapes, message):
    if message is None:
        make()(*[md.randn(*s) for s in shapes])
        return
    with pytest.raises(ValueError, match=message):
        make()(*[md.randn(*s) for s in shapes])


def test_instance_norm_warns_on_unused_num_features():
    with pytest.warns(UserWarning, match="num_features is not used"):
        nn.InstanceNorm1d(3)(md.randn(2, 4, 5))


def test_bilinear_init_range_and_second_derivative():
    layer = nn.Bilinear(16, 3, 8)
    bound = 1 / 4
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.max() - values.min() > bound
    x1 = md.randn(2, 3, dtype=md.float64, requires_grad=True)
    x2 = md.randn(2, 2, dtype=md.float64, requires_grad=True)
    weight = md.randn(4, 3, 2, dtype=md.float64, requires_grad=True)
    assert md.autograd.gradgradcheck(lambda a, b, w: F.bilinear(a, b, w) ** 2, (x1, x2, weight))
