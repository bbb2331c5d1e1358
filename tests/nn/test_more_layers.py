"""Padding, 1-d pooling, dropout, upsampling, shuffle, instance-norm and bilinear layers, declared once in a
table: float64 gradient checks (inputs and every parameter) and differential tests against PyTorch (torch's
parameters copied in: outputs, input gradients, parameter gradients, buffers), state-dict keys and reprs;
then the random layers' statistics and the errors."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck
from minidl.nn._functional.bilinear import bilinear
from minidl.nn._functional.dropout import alpha_dropout, dropout1d
from minidl.nn._functional.instance_norm import instance_norm
from minidl.nn._functional.pool1d import adaptive_avg_pool1d, adaptive_max_pool1d
from minidl.nn._functional.shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle
from minidl.nn.modules import dropout, linear, normalization, padding, pooling, shuffle, upsampling

# the layers under test, as a namespace like ``torch.nn`` (minidl.nn re-exports them once wired)
MINE = SimpleNamespace(nn=SimpleNamespace(**{
    name: getattr(module, name) for module, names in [
        (padding, "ReflectionPad1d ReflectionPad2d ReplicationPad1d ReplicationPad2d CircularPad1d CircularPad2d "
                  "ConstantPad1d ZeroPad1d ConstantPad2d ZeroPad2d"),
        (pooling, "AdaptiveAvgPool1d AdaptiveMaxPool1d"),
        (dropout, "Dropout1d AlphaDropout"),
        (upsampling, "UpsamplingNearest2d UpsamplingBilinear2d"),
        (shuffle, "PixelShuffle PixelUnshuffle ChannelShuffle"),
        (normalization, "InstanceNorm1d InstanceNorm2d"),
        (linear, "Bilinear"),
    ] for name in names.split()
}))


@dataclass
class LayerCase:
    name: str
    make: Callable         # make(lib) -> a layer of lib (minidl's namespace above, or torch)
    shapes: tuple          # one input shape per forward argument
    train: bool = True
    warmup: bool = False   # one training batch first, so that evaluation uses moved running statistics

    def __repr__(self) -> str:
        return self.name


CASES = [
    LayerCase("ReflectionPad1d", lambda lib: lib.nn.ReflectionPad1d(2), ((2, 3, 5),)),
    LayerCase("ReflectionPad2d", lambda lib: lib.nn.ReflectionPad2d((1, 2, 0, 2)), ((1, 2, 3, 4),)),
    LayerCase("ReplicationPad1d-unbatched", lambda lib: lib.nn.ReplicationPad1d((1, 3)), ((3, 4),)),
    LayerCase("ReplicationPad2d", lambda lib: lib.nn.ReplicationPad2d(2), ((2, 2, 3, 3),)),
    LayerCase("CircularPad1d", lambda lib: lib.nn.CircularPad1d((3, 1)), ((2, 2, 3),)),
    LayerCase("CircularPad2d", lambda lib: lib.nn.CircularPad2d((1, 0, 2, 1)), ((2, 3, 3),)),
    LayerCase("ConstantPad1d", lambda lib: lib.nn.ConstantPad1d((2, 1), -1.5), ((2, 3, 4),)),
    LayerCase("ZeroPad1d", lambda lib: lib.nn.ZeroPad1d(2), ((3, 4),)),
    LayerCase("AdaptiveAvgPool1d-uneven", lambda lib: lib.nn.AdaptiveAvgPool1d(3), ((2, 3, 7),)),
    LayerCase("AdaptiveAvgPool1d-unbatched", lambda lib: lib.nn.AdaptiveAvgPool1d(2), ((3, 8),)),
    LayerCase("AdaptiveMaxPool1d-uneven", lambda lib: lib.nn.AdaptiveMaxPool1d(3), ((2, 3, 7),)),
    LayerCase("AdaptiveMaxPool1d", lambda lib: lib.nn.AdaptiveMaxPool1d(4), ((2, 3, 8),)),
    LayerCase("Dropout1d-eval", lambda lib: lib.nn.Dropout1d(0.5), ((2, 3, 4),), train=False),
    LayerCase("AlphaDropout-eval", lambda lib: lib.nn.AlphaDropout(0.5), ((2, 3, 4),), train=False),
    LayerCase("UpsamplingNearest2d", lambda lib: lib.nn.UpsamplingNearest2d(scale_factor=2), ((1, 2, 3, 3),)),
    LayerCase("UpsamplingNearest2d-size", lambda lib: lib.nn.UpsamplingNearest2d(size=(5, 4)), ((1, 2, 3, 3),)),
    LayerCase("UpsamplingBilinear2d", lambda lib: lib.nn.UpsamplingBilinear2d(scale_factor=2), ((1, 2, 3, 4),)),
    LayerCase("UpsamplingBilinear2d-size", lambda lib: lib.nn.UpsamplingBilinear2d(size=(5, 7)), ((2, 1, 3, 4),)),
    LayerCase("PixelShuffle", lambda lib: lib.nn.PixelShuffle(2), ((2, 8, 3, 2),)),
    LayerCase("PixelShuffle-5d", lambda lib: lib.nn.PixelShuffle(3), ((2, 1, 9, 2, 1),)),
    LayerCase("PixelUnshuffle", lambda lib: lib.nn.PixelUnshuffle(2), ((2, 2, 4, 6),)),
    LayerCase("ChannelShuffle", lambda lib: lib.nn.ChannelShuffle(3), ((2, 6, 4),)),
    LayerCase("ChannelShuffle-4d", lambda lib: lib.nn.ChannelShuffle(2), ((1, 4, 2, 3),)),
    LayerCase("InstanceNorm1d", lambda lib: lib.nn.InstanceNorm1d(3), ((2, 3, 5),)),
    LayerCase("InstanceNorm1d-affine-unbatched", lambda lib: lib.nn.InstanceNorm1d(3, affine=True), ((3, 5),)),
    LayerCase("InstanceNorm2d-tracked", lambda lib: lib.nn.InstanceNorm2d(3, eps=1e-3, momentum=0.3, affine=True,
                                                                         track_running_stats=True), ((2, 3, 4, 3),)),
    LayerCase("InstanceNorm2d-tracked-eval", lambda lib: lib.nn.InstanceNorm2d(2, track_running_stats=True),
              ((3, 2, 3, 3),), train=False, warmup=True),
    LayerCase("InstanceNorm2d-untracked-eval", lambda lib: lib.nn.InstanceNorm2d(2, affine=True, bias=False),
              ((2, 2, 3, 3),), train=False),
    LayerCase("Bilinear", lambda lib: lib.nn.Bilinear(3, 4, 5), ((2, 3), (2, 4))),
    LayerCase("Bilinear-3d-nobias", lambda lib: lib.nn.Bilinear(3, 2, 4, bias=False), ((2, 5, 3), (2, 5, 2))),
    LayerCase("Bilinear-unbatched", lambda lib: lib.nn.Bilinear(2, 3, 2), ((2,), (3,))),
]


def _inputs(case: LayerCase, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * 2 for shape in case.shapes]


def _minidl_layer(case: LayerCase):
    md.manual_seed(0)
    return case.make(MINE).double().train(case.train)


def _warm_up(case: LayerCase, layer, lib) -> None:
    if case.warmup:
        layer.train()
        with (torch.no_grad() if lib is torch else md.no_grad()):
            layer(*[lib.tensor(x, dtype=lib.float64) for x in _inputs(case, seed=1)])
        layer.train(case.train)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_gradcheck(case):
    layer = _minidl_layer(case)
    _warm_up(case, layer, md)
    names = [name for name, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    xs = [md.tensor(x, dtype=md.float64, requires_grad=True) for x in _inputs(case)]
    count = len(xs)

    def run(*tensors):
        saved = dict(layer._parameters)
        layer._parameters.update(zip(names, tensors[count:]))
        try:
            return layer(*tensors[:count])
        finally:
            layer._parameters.update(saved)

    assert gradcheck(run, xs + params)


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_torch(case):
    torch.manual_seed(0)
    reference = case.make(torch).double().train(case.train)
    layer = _minidl_layer(case)
    assert list(layer.state_dict()) == list(reference.state_dict())
    for (name, mine), theirs in zip(layer.state_dict().items(), reference.state_dict().values()):
        assert tuple(mine.shape) == tuple(theirs.shape), name
    with torch.no_grad():  # parameters that are not their trivial initial values
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    layer.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    _warm_up(case, reference, torch)
    _warm_up(case, layer, md)

    data = _inputs(case)
    xs = [md.tensor(x, dtype=md.float64, requires_grad=True) for x in data]
    ts = [torch.tensor(x, requires_grad=True) for x in data]
    out, expected = layer(*xs), reference(*ts)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-9)
    upstream = np.random.default_rng(2).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-9)
    for (name, p), q in zip(layer.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)
    for (name, mine), theirs in zip(layer.state_dict().items(), reference.state_dict().values()):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)  # running statistics


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_repr_matches_torch(case):
    assert repr(case.make(MINE)) == repr(case.make(torch))


@requires_torch
def test_functions_match_torch():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 4, 4, 2)), rng.standard_normal(4)
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    t = lambda a: torch.tensor(a)
    m = lambda a: md.tensor(a, dtype=md.float64)
    pairs = [
        (pixel_shuffle(m(x), 2), torch.nn.functional.pixel_shuffle(t(x), 2)),
        (pixel_unshuffle(m(x), 2), torch.nn.functional.pixel_unshuffle(t(x), 2)),
        (channel_shuffle(m(x), 2), torch.nn.functional.channel_shuffle(t(x), 2)),
        (instance_norm(m(x), m(mean), m(var), m(w), None, use_input_stats=False),
         torch.nn.functional.instance_norm(t(x), t(mean), t(var), t(w), None, use_input_stats=False)),
        (adaptive_avg_pool1d(m(x[0]), 2), torch.nn.functional.adaptive_avg_pool1d(t(x[0]), 2)),
        (bilinear(m(x[0, 0]), m(x[1, 0]), m(x[:, :3, 0]).transpose(0, 1)),
         torch.nn.functional.bilinear(t(x[0, 0]), t(x[1, 0]), t(x[:, :3, 0]).transpose(0, 1))),
    ]
    for mine, theirs in pairs:
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-12)
    values, indices = adaptive_max_pool1d(m(x[0]), 2, return_indices=True)
    expected_values, expected_indices = torch.nn.functional.adaptive_max_pool1d(t(x[0]), 2, return_indices=True)
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
    assert indices.dtype == md.int64


def test_instance_norm_running_statistics_follow_train_and_eval():
    layer = MINE.nn.InstanceNorm1d(2, momentum=None, track_running_stats=True)
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
    untracked = MINE.nn.InstanceNorm1d(2).eval()
    np.testing.assert_allclose(untracked(x).numpy().mean(2), 0, atol=1e-6)


def test_dropout1d_zeroes_whole_channels():
    md.manual_seed(0)
    y = MINE.nn.Dropout1d(0.5)(md.ones(8, 16, 5)).numpy()
    assert np.all(y.min(2) == y.max(2)) and set(np.unique(y)) == {0.0, 2.0}
    assert 0.3 < (y[:, :, 0] == 0).mean() < 0.7
    unbatched = dropout1d(md.ones(16, 5), 0.5).numpy()
    assert np.all(unbatched.min(1) == unbatched.max(1))
    x = md.randn(4, 3, 5)
    assert MINE.nn.Dropout1d(0.5).eval()(x) is x and dropout1d(x, 0.0) is x


def test_dropout1d_gradient_follows_the_mask():
    x = md.randn(6, 8, 4, requires_grad=True)
    y = dropout1d(x, 0.25)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) / 0.75, rtol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_keeps_selu_statistics(p):
    md.manual_seed(1)
    x = md.randn(200_000, dtype=md.float64, requires_grad=True)
    y = MINE.nn.AlphaDropout(p)(x)
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
    assert alpha_dropout(x, 0.5) is x  # training=False by default, as PyTorch's F.alpha_dropout
    assert (alpha_dropout(x, 1.0, training=True).numpy() == 0).all()
    assert alpha_dropout(x, 0.3, training=True).dtype == md.float32


@pytest.mark.parametrize("make, shapes, message", [
    (lambda: MINE.nn.ReflectionPad1d(2), [(2, 3, 4, 5)], r"ReflectionPad1d\(\(2, 2\)\) expected input \(N, C, L\)"),
    (lambda: MINE.nn.ReflectionPad2d(3), [(1, 1, 3, 5)], r"ReflectionPad2d.*reflect padding must be smaller than"),
    (lambda: MINE.nn.CircularPad1d(4), [(1, 2, 3)], r"CircularPad1d.*circular padding must be at most"),
    (lambda: MINE.nn.ReplicationPad2d((1, 2)), [], r"ReplicationPad2d: padding must be an int or \(left, right, top"),
    (lambda: MINE.nn.ConstantPad1d(1, 0.5), [(2,)], r"ConstantPad1d\(padding=\(1, 1\), value=0.5\) expected input"),
    (lambda: MINE.nn.AdaptiveAvgPool1d(2), [(2, 3, 4, 5)], r"AdaptiveAvgPool1d\(output_size=2\) expected input"),
    (lambda: MINE.nn.AdaptiveMaxPool1d(0), [(2, 3, 4)], r"adaptive_max_pool1d: output_size must be a positive int"),
    (lambda: MINE.nn.Dropout1d(), [(2, 3, 4, 5)], r"Dropout1d\(p=0.5, inplace=False\) expected input \(N, C, L\)"),
    (lambda: MINE.nn.UpsamplingBilinear2d(scale_factor=2), [(1, 2, 3)], r"UpsamplingBilinear2d.* expected input "
     r"\(N, C, H, W\), got tensor of shape \(1, 2, 3\)"),
    (lambda: MINE.nn.PixelShuffle(2), [(1, 6, 2, 2)], r"pixel_shuffle: the channel dim \(-3\) must be divisible by "
     r"upscale_factor\*\*2 = 4, got input of shape \(1, 6, 2, 2\)"),
    (lambda: MINE.nn.PixelShuffle(2), [(4, 2)], r"pixel_shuffle: expected input \(\*, C, H, W\) with at least 3 dims"),
    (lambda: MINE.nn.PixelUnshuffle(2), [(1, 1, 3, 4)], r"pixel_unshuffle: height and width .* divisible by "
     r"downscale_factor = 2"),
    (lambda: MINE.nn.ChannelShuffle(4), [(2, 6, 3)], r"channel_shuffle: the number of channels .* divisible by "
     r"groups = 4"),
    (lambda: MINE.nn.ChannelShuffle(2), [(2, 6)], r"channel_shuffle: expected input \(N, C, \*\) with more than 2"),
    (lambda: MINE.nn.InstanceNorm2d(3), [(3, 4, 5)], None),  # unbatched (C, H, W): fine
    (lambda: MINE.nn.InstanceNorm2d(3), [(3, 4)], r"InstanceNorm2d\(3, .*\) expected input \(N, C, H, W\) or "
     r"\(C, H, W\), got tensor of shape \(3, 4\)"),
    (lambda: MINE.nn.InstanceNorm1d(3, affine=True), [(2, 4, 5)], r"InstanceNorm1d\(3, .*\) expected input with 3 "
     r"channels in dim 1"),
    (lambda: MINE.nn.InstanceNorm1d(3), [(2, 3, 1)], r"instance_norm: expected more than 1 spatial element"),
    (lambda: MINE.nn.Bilinear(3, 4, 5), [(2, 3), (2, 5)], r"Bilinear\(in1_features=3, in2_features=4, "
     r"out_features=5, bias=True\) expected input2 with 4 features in the last dim, got tensor of shape \(2, 5\)"),
    (lambda: MINE.nn.Bilinear(3, 4, 5), [(2, 3), (3, 4)], r"bilinear: input1 and input2 must have the same batch"),
])
def test_errors_name_the_layer(make, shapes, message):
    if message is None:
        make()(*[md.randn(*s) for s in shapes])
        return
    with pytest.raises(ValueError, match=message):
        make()(*[md.randn(*s) for s in shapes])


def test_instance_norm_warns_on_unused_num_features():
    with pytest.warns(UserWarning, match="num_features is not used"):
        MINE.nn.InstanceNorm1d(3)(md.randn(2, 4, 5))


def test_bilinear_init_range_and_second_derivative():
    layer = MINE.nn.Bilinear(16, 3, 8)
    bound = 1 / 4
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.max() - values.min() > bound
    x1 = md.randn(2, 3, dtype=md.float64, requires_grad=True)
    x2 = md.randn(2, 2, dtype=md.float64, requires_grad=True)
    weight = md.randn(4, 3, 2, dtype=md.float64, requires_grad=True)
    assert md.autograd.gradgradcheck(lambda a, b, w: bilinear(a, b, w) ** 2, (x1, x2, weight))
