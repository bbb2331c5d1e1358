"""Layers and activations, declared once in a table: float64 gradient checks (input and every
parameter) and differential tests against PyTorch (same weights, same input: outputs, input
gradient and every parameter gradient), plus state-dict key equality."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn as nn
from minidl.autograd import gradcheck
from minidl.ops import cpu_kernels


@dataclass
class LayerCase:
    name: str
    make: Callable  # make(lib) -> module of lib (minidl or torch)
    shape: tuple
    kinks: tuple = ()          # input values where the layer is not smooth (kept away from)
    train: bool = True
    rtol: float = 1e-9
    integer_input: int = 0     # > 0: the input is int64 indices below this bound
    warmup: bool = False       # run one training batch first (so eval uses non-trivial running stats)
    more_shapes: tuple = ()    # the shapes of further float inputs to forward (Bilinear's second)
    tags: tuple = field(default_factory=tuple)

    def __repr__(self) -> str:
        return self.name


CASES = [
    LayerCase("Linear", lambda lib: lib.nn.Linear(4, 3), (2, 4)),
    LayerCase("Linear-3d-nobias", lambda lib: lib.nn.Linear(4, 3, bias=False), (2, 5, 4)),
    LayerCase("Linear-1d", lambda lib: lib.nn.Linear(4, 2), (4,)),
    LayerCase("BatchNorm1d", lambda lib: lib.nn.BatchNorm1d(3), (5, 3)),
    LayerCase("BatchNorm1d-NCL", lambda lib: lib.nn.BatchNorm1d(3, momentum=None), (4, 3, 2)),
    LayerCase("BatchNorm1d-noaffine", lambda lib: lib.nn.BatchNorm1d(3, affine=False), (5, 3)),
    LayerCase("BatchNorm1d-untracked", lambda lib: lib.nn.BatchNorm1d(3, track_running_stats=False), (5, 3)),
    LayerCase("BatchNorm1d-eval", lambda lib: lib.nn.BatchNorm1d(3), (5, 3), train=False, warmup=True),
    LayerCase("BatchNorm2d", lambda lib: lib.nn.BatchNorm2d(3, eps=1e-3, momentum=0.3), (2, 3, 3, 2)),
    LayerCase("BatchNorm2d-eval", lambda lib: lib.nn.BatchNorm2d(3), (2, 3, 3, 2), train=False, warmup=True),
    LayerCase("BatchNorm2d-untracked-eval", lambda lib: lib.nn.BatchNorm2d(2, track_running_stats=False),
              (3, 2, 2, 2), train=False),
    LayerCase("LayerNorm", lambda lib: lib.nn.LayerNorm(4), (3, 4)),
    LayerCase("LayerNorm-2d", lambda lib: lib.nn.LayerNorm((2, 3), eps=1e-3), (2, 2, 3)),
    LayerCase("LayerNorm-noaffine", lambda lib: lib.nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    LayerCase("GroupNorm", lambda lib: lib.nn.GroupNorm(2, 4), (2, 4, 3)),
    LayerCase("GroupNorm-noaffine", lambda lib: lib.nn.GroupNorm(3, 3, affine=False), (2, 3, 2, 2)),
    LayerCase("Embedding", lambda lib: lib.nn.Embedding(6, 3), (2, 4), integer_input=6),
    LayerCase("Embedding-padding", lambda lib: lib.nn.Embedding(6, 3, padding_idx=2), (3, 4), integer_input=6),
    LayerCase("Dropout-eval", lambda lib: lib.nn.Dropout(0.5), (3, 4), train=False),
    LayerCase("Dropout2d-eval", lambda lib: lib.nn.Dropout2d(0.5), (2, 3, 2, 2), train=False),
    LayerCase("Identity", lambda lib: lib.nn.Identity(), (2, 3)),
    LayerCase("Flatten", lambda lib: lib.nn.Flatten(), (2, 3, 2)),
    LayerCase("Flatten-range", lambda lib: lib.nn.Flatten(0, 1), (2, 3, 2)),
    LayerCase("Unflatten", lambda lib: lib.nn.Unflatten(1, (2, 3)), (2, 6)),
    LayerCase("ZeroPad2d", lambda lib: lib.nn.ZeroPad2d((1, 0, 2, 1)), (1, 2, 2, 3)),
    LayerCase("ConstantPad2d", lambda lib: lib.nn.ConstantPad2d(1, 2.5), (2, 2, 2)),
    # activations
    LayerCase("ReLU", lambda lib: lib.nn.ReLU(), (3, 4), kinks=(0.0,)),
    LayerCase("ReLU-inplace", lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(inplace=True)), (3, 4)),
    LayerCase("ReLU6", lambda lib: lib.nn.ReLU6(), (3, 4), kinks=(0.0, 6.0)),
    LayerCase("LeakyReLU", lambda lib: lib.nn.LeakyReLU(0.2), (3, 4), kinks=(0.0,)),
    LayerCase("PReLU", lambda lib: lib.nn.PReLU(), (3, 4), kinks=(0.0,)),
    LayerCase("PReLU-channels", lambda lib: lib.nn.PReLU(3, init=0.1), (2, 3, 2), kinks=(0.0,)),
    LayerCase("ELU", lambda lib: lib.nn.ELU(0.7), (3, 4), kinks=(0.0,)),
    LayerCase("SELU", lambda lib: lib.nn.SELU(), (3, 4), kinks=(0.0,)),
    LayerCase("GELU", lambda lib: lib.nn.GELU(), (3, 4), rtol=1e-12 if cpu_kernels.ENABLED else 2e-6),  # erf
    LayerCase("GELU-tanh", lambda lib: lib.nn.GELU(approximate="tanh"), (3, 4)),
    LayerCase("SiLU", lambda lib: lib.nn.SiLU(), (3, 4)),
    LayerCase("Sigmoid", lambda lib: lib.nn.Sigmoid(), (3, 4)),
    LayerCase("Tanh", lambda lib: lib.nn.Tanh(), (3, 4)),
    LayerCase("Softplus", lambda lib: lib.nn.Softplus(), (3, 4)),
    LayerCase("Softplus-beta-threshold", lambda lib: lib.nn.Softplus(beta=2.0, threshold=3.0), (3, 4), kinks=(1.5,)),
    LayerCase("Softmax", lambda lib: lib.nn.Softmax(dim=1), (3, 4)),
    LayerCase("Softmax-dim0", lambda lib: lib.nn.Softmax(dim=0), (3, 4)),
    LayerCase("LogSoftmax", lambda lib: lib.nn.LogSoftmax(dim=-1), (2, 3, 4)),
    LayerCase("Hardtanh", lambda lib: lib.nn.Hardtanh(-0.5, 0.7), (3, 4), kinks=(-0.5, 0.7)),
    LayerCase("Sequential", lambda lib: lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2)),
              (3, 4)),    # padding, 1-d pooling, dropout, upsampling, shuffles, instance norm, bilinear
    LayerCase("ReflectionPad1d", lambda lib: lib.nn.ReflectionPad1d(2), (2, 3, 5)),
    LayerCase("ReflectionPad2d", lambda lib: lib.nn.ReflectionPad2d((1, 2, 0, 2)), (1, 2, 3, 4)),
    LayerCase("ReplicationPad1d-unbatched", lambda lib: lib.nn.ReplicationPad1d((1, 3)), (3, 4)),
    LayerCase("ReplicationPad2d", lambda lib: lib.nn.ReplicationPad2d(2), (2, 2, 3, 3)),
    LayerCase("CircularPad1d", lambda lib: lib.nn.CircularPad1d((3, 1)), (2, 2, 3)),
    LayerCase("CircularPad2d", lambda lib: lib.nn.CircularPad2d((1, 0, 2, 1)), (2, 3, 3)),
    LayerCase("ConstantPad1d", lambda lib: lib.nn.ConstantPad1d((2, 1), -1.5), (2, 3, 4)),
    LayerCase("ZeroPad1d", lambda lib: lib.nn.ZeroPad1d(2), (3, 4)),
    LayerCase("AdaptiveAvgPool1d-uneven", lambda lib: lib.nn.AdaptiveAvgPool1d(3), (2, 3, 7)),
    LayerCase("AdaptiveAvgPool1d-unbatched", lambda lib: lib.nn.AdaptiveAvgPool1d(2), (3, 8)),
    LayerCase("AdaptiveMaxPool1d-uneven", lambda lib: lib.nn.AdaptiveMaxPool1d(3), (2, 3, 7)),
    LayerCase("AdaptiveMaxPool1d", lambda lib: lib.nn.AdaptiveMaxPool1d(4), (2, 3, 8)),
    LayerCase("Dropout1d-eval", lambda lib: lib.nn.Dropout1d(0.5), (2, 3, 4), train=False),
    LayerCase("AlphaDropout-eval", lambda lib: lib.nn.AlphaDropout(0.5), (2, 3, 4), train=False),
    LayerCase("UpsamplingNearest2d", lambda lib: lib.nn.UpsamplingNearest2d(scale_factor=2), (1, 2, 3, 3)),
    LayerCase("UpsamplingNearest2d-size", lambda lib: lib.nn.UpsamplingNearest2d(size=(5, 4)), (1, 2, 3, 3)),
    LayerCase("UpsamplingBilinear2d", lambda lib: lib.nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3, 4)),
    LayerCase("UpsamplingBilinear2d-size", lambda lib: lib.nn.UpsamplingBilinear2d(size=(5, 7)), (2, 1, 3, 4)),
    LayerCase("PixelShuffle", lambda lib: lib.nn.PixelShuffle(2), (2, 8, 3, 2)),
    LayerCase("PixelShuffle-5d", lambda lib: lib.nn.PixelShuffle(3), (2, 1, 9, 2, 1)),
    LayerCase("PixelUnshuffle", lambda lib: lib.nn.PixelUnshuffle(2), (2, 2, 4, 6)),
    LayerCase("ChannelShuffle", lambda lib: lib.nn.ChannelShuffle(3), (2, 6, 4)),
    LayerCase("ChannelShuffle-4d", lambda lib: lib.nn.ChannelShuffle(2), (1, 4, 2, 3)),
    LayerCase("InstanceNorm1d", lambda lib: lib.nn.InstanceNorm1d(3), (2, 3, 5)),
    LayerCase("InstanceNorm1d-affine-unbatched", lambda lib: lib.nn.InstanceNorm1d(3, affine=True), (3, 5)),
    LayerCase("InstanceNorm2d-tracked", lambda lib: lib.nn.InstanceNorm2d(3, eps=1e-3, momentum=0.3, affine=True,
                                                                         track_running_stats=True), (2, 3, 4, 3)),
    LayerCase("InstanceNorm2d-tracked-eval", lambda lib: lib.nn.InstanceNorm2d(2, track_running_stats=True),
              (3, 2, 3, 3), train=False, warmup=True),
    LayerCase("InstanceNorm2d-untracked-eval", lambda lib: lib.nn.InstanceNorm2d(2, affine=True, bias=False),
              (2, 2, 3, 3), train=False),
    LayerCase("Bilinear", lambda lib: lib.nn.Bilinear(3, 4, 5), (2, 3), more_shapes=((2, 4),)),
    LayerCase("Bilinear-3d-nobias", lambda lib: lib.nn.Bilinear(3, 2, 4, bias=False), (2, 5, 3),
              more_shapes=((2, 5, 2),)),
    LayerCase("Bilinear-unbatched", lambda lib: lib.nn.Bilinear(2, 3, 2), (2,), more_shapes=((3,),)),
]


def _input(case: LayerCase, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if case.integer_input:
        return rng.integers(0, case.integer_input, size=case.shape)
    x = rng.standard_normal(case.shape) * 2
    for kink in case.kinks:
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    return x


def _more_inputs(case: LayerCase, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed + 100)
    return [rng.standard_normal(shape) * 2 for shape in case.more_shapes]


def _minidl_layer(case: LayerCase) -> nn.Module:
    md.manual_seed(0)
    layer = case.make(md).double()
    return layer.train(case.train)


def _warm_up(case: LayerCase, layer, lib) -> None:
    if case.warmup:
        layer.train()
        batches = [_input(case, seed=1)] + _more_inputs(case, seed=1)
        with (torch.no_grad() if lib is torch else md.no_grad()):
            layer(*[lib.tensor(batch, dtype=lib.float64) for batch in batches])
        layer.train(case.train)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_gradcheck(case):
    layer = _minidl_layer(case)
    _warm_up(case, layer, md)
    names = [name for name, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    more = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in _more_inputs(case)]
    if case.integer_input:
        x = md.tensor(_input(case))
        inputs = more + params
    else:
        x = md.tensor(_input(case), dtype=md.float64, requires_grad=True)
        inputs = [x] + more + params
    count = len(inputs) - len(params)  # the layer's float inputs come first

    def run(*tensors):
        with _swapped_parameters(layer, names, tensors[count:]):
            float_inputs = tensors[:count]
            return layer(x, *float_inputs) if case.integer_input else layer(*float_inputs)

    if not inputs:
        pytest.skip("no differentiable input")
    if "BatchNorm" in case.name and case.train and layer.track_running_stats:
        layer.momentum = 0.0  # gradcheck runs the layer many times: keep the running stats still
    assert gradcheck(run, inputs)


class _swapped_parameters:
    """Use the given tensors as the layer's parameters for one call (like torch.func.functional_call)."""

    def __init__(self, layer, names, values):
        self.layer, self.names, self.values = layer, names, values

    def __enter__(self):
        self.saved = []
        for name, value in zip(self.names, self.values):
            owner_name, _, leaf = name.rpartition(".")
            owner = self.layer.get_submodule(owner_name)
            self.saved.append((owner, leaf, owner._parameters[leaf]))
            owner._parameters[leaf] = value

    def __exit__(self, *exc):
        for owner, leaf, value in self.saved:
            owner._parameters[leaf] = value


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_matches_torch(case):
    torch.manual_seed(0)
    reference = case.make(torch).double().train(case.train)
    layer = _minidl_layer(case)
    assert list(layer.state_dict()) == list(reference.state_dict())
    for (name, mine), (_, theirs) in zip(layer.state_dict().items(), reference.state_dict().items()):
        assert tuple(mine.shape) == tuple(theirs.shape), name
    # torch's weights (which are not trivially initialised) into minidl, through NumPy
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    layer.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    _warm_up(case, reference, torch)
    _warm_up(case, layer, md)

    data = _input(case)
    if case.integer_input:
        x, t = md.tensor(data), torch.tensor(data)
    else:
        x = md.tensor(data, dtype=md.float64, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
    more = _more_inputs(case)
    more_x = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in more]
    more_t = [torch.tensor(a, requires_grad=True) for a in more]
    out, expected = layer(x, *more_x), reference(t, *more_t)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=case.rtol, atol=case.rtol)
    upstream = np.random.default_rng(2).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    if not case.integer_input:
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=case.rtol, atol=case.rtol)
    for mine, theirs in zip(more_x, more_t):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=case.rtol, atol=case.rtol)
    for (name, p), q in zip(layer.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=case.rtol, atol=case.rtol, err_msg=name)
    for (name, mine), theirs in zip(layer.state_dict().items(), reference.state_dict().values()):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)  # running stats


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_repr_matches_torch(case):
    assert repr(case.make(md)) == repr(case.make(torch))


@pytest.mark.parametrize("p", [0.25, 0.5, 0.9])
def test_dropout_is_inverted_and_seeded(p):
    x = md.ones(200, 500)
    md.manual_seed(3)
    y = nn.Dropout(p)(x)
    md.manual_seed(3)
    again = nn.Dropout(p)(x)
    values = y.numpy()
    assert set(np.unique(values)) <= {0.0, np.float32(1 / (1 - p))}
    assert abs((values == 0).mean() - p) < 0.01
    assert y.dtype == md.float32
    np.testing.assert_array_equal(values, again.numpy())


def test_dropout_gradient_follows_the_mask():
    x = md.randn(50, 40, requires_grad=True)
    y = nn.Dropout(0.3)(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (y.detach().numpy() != 0) / 0.7, rtol=1e-6)


def test_dropout2d_zeroes_whole_channels():
    y = nn.Dropout2d(0.5)(md.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all(per_channel.min(2) == per_channel.max(2))
    assert 0 < (per_channel[:, :, 0] == 0).sum() < 8 * 16


def test_dropout_extremes_and_eval():
    x = md.randn(4, 5)
    assert nn.Dropout(0.0)(x) is x
    assert nn.Dropout(0.7).eval()(x) is x
    assert (nn.Dropout(1.0)(x).numpy() == 0).all()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_embedding_padding_row_gets_no_gradient():
    table = nn.Embedding(5, 3, padding_idx=0)
    assert (table.weight.detach().numpy()[0] == 0).all()
    table(md.tensor([[0, 1, 0, 4]])).sum().backward()
    grad = table.weight.grad.numpy()
    assert (grad[0] == 0).all() and (grad[1] == 1).all() and (grad[4] == 1).all() and (grad[2] == 0).all()


def test_embedding_from_pretrained():
    weights = md.randn(4, 2)
    table = nn.Embedding.from_pretrained(weights)
    assert not table.weight.requires_grad
    np.testing.assert_array_equal(table(md.tensor([3])).numpy(), weights.numpy()[[3]])
    with pytest.raises(IndexError, match="out of range"):
        table(md.tensor([4]))


def test_batchnorm_running_statistics_and_counter():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [np.random.default_rng(i).standard_normal((6, 2)).astype(np.float32) for i in range(3)]
    for batch in batches:
        bn(md.tensor(batch))
    assert bn.num_batches_tracked.item() == 3 and bn.num_batches_tracked.dtype == md.int64
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([b.var(0, ddof=1) for b in batches], 0), rtol=1e-5)
    bn.eval()
    before = bn.running_mean.numpy().copy()
    bn(md.tensor(batches[0]))
    np.testing.assert_array_equal(bn.running_mean.numpy(), before)


def test_batchnorm_keeps_float32_and_needs_two_values_when_training():
    bn = nn.BatchNorm2d(3)
    out = bn(md.randn(2, 3, 4, 4))
    assert out.dtype == md.float32 and bn.running_var.dtype == md.float32
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(md.randn(1, 3))
    nn.BatchNorm1d(3).eval()(md.randn(1, 3))


def test_batchnorm_second_derivative():
    x = md.randn(4, 3, dtype=md.float64, requires_grad=True)
    weight = md.randn(3, dtype=md.float64, requires_grad=True)
    bias = md.randn(3, dtype=md.float64, requires_grad=True)
    fn = lambda x, w, b: nn.functional.batch_norm(x, None, None, w, b, training=True) ** 3
    assert md.autograd.gradgradcheck(fn, (x, weight, bias))


@pytest.mark.parametrize("make, bad_shape, message", [
    (lambda: nn.Linear(576, 128), (8, 500),
     r"Linear\(in_features=576, out_features=128, bias=True\) expected input with 576 features in the last dim, "
     r"got tensor of shape \(8, 500\)"),
    (lambda: nn.BatchNorm2d(16), (8, 8, 4, 4), r"BatchNorm2d\(16, .*\) expected input with 16 channels in dim 1, "
     r"got tensor of shape \(8, 8, 4, 4\)"),
    (lambda: nn.BatchNorm2d(16), (8, 16), r"expected input \(N, C, H, W\), got tensor of shape \(8, 16\)"),
    (lambda: nn.BatchNorm1d(4), (8, 5), r"BatchNorm1d\(4, .*\) expected input with 4 channels"),
    (lambda: nn.LayerNorm(6), (2, 5), r"LayerNorm\(\(6,\), .*\) expected input whose last 1 dims are \(6,\)"),
    (lambda: nn.GroupNorm(2, 4), (2, 6, 3), r"GroupNorm\(2, 4, .*\) expected input \(N, 4, \*\)"),
    (lambda: nn.PReLU(3), (2, 4), r"PReLU\(num_parameters=3\) expected input with 3 channels"),
    (lambda: nn.Dropout2d(), (2, 4), r"Dropout2d\(.*\) expected input \(N, C, H, W\)"),
])
def test_wrong_input_shape_errors_name_the_layer(make, bad_shape, message):
    with pytest.raises(ValueError, match=message):
        make()(md.randn(*bad_shape))


@pytest.mark.parametrize("name", ["LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Hardtanh", "ReLU6"])
def test_activations_keep_float32(name):
    x = md.randn(4, 5, requires_grad=True)
    y = getattr(nn, name)()(x)
    y.sum().backward()
    assert y.dtype == md.float32 and x.grad.dtype == md.float32


def test_softplus_and_elu_do_not_overflow():
    x = md.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        y = nn.functional.softplus(x) + nn.functional.elu(x) + nn.functional.silu(x)
    y.sum().backward()
    assert np.isfinite(y.detach().numpy()).all() and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("fn", [
    lambda F, x: F.gelu(x), lambda F, x: F.gelu(x, approximate="tanh"), lambda F, x: F.elu(x, 0.5),
    lambda F, x: F.silu(x), lambda F, x: F.softplus(x, 2.0), lambda F, x: F.leaky_relu(x, 0.1),
    lambda F, x: F.linear(x, x.T.sin(), x[0].cos()),
], ids=["gelu", "gelu-tanh", "elu", "silu", "softplus", "leaky_relu", "linear"])
def test_activation_second_derivatives(fn):
    x = md.tensor(_input(LayerCase("x", None, (3, 3), kinks=(0.0,))), dtype=md.float64, requires_grad=True)
    assert md.autograd.gradgradcheck(lambda t: fn(nn.functional, t), (x,))


def test_one_hot():
    out = nn.functional.one_hot(md.tensor([[0, 2], [1, 0]]), 3)
    assert out.dtype == md.int64 and tuple(out.shape) == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy()[0, 1], [0, 0, 1])
    assert nn.functional.one_hot(md.tensor([3, 1])).shape == (2, 4)
    with pytest.raises(ValueError, match="class values"):
        nn.functional.one_hot(md.tensor([3]), 2)
