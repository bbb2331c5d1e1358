"""nn.init: PyTorch's formulas, fans and gains; draws from minidl's seeded generator, in place,
outside the graph, in the tensor's dtype."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn as nn
from minidl.nn import init


@requires_torch
@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3, 3), (6, 2, 5), (7, 1)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(md.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(md.empty(3))


@requires_torch
@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_gains_match_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


def test_unknown_gain_is_an_error():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


def _std_of(fill, shape=(400, 300), **kwargs):
    tensor = md.empty(*shape)
    fill(tensor, **kwargs)
    return tensor.numpy()


@pytest.mark.parametrize("fill, kwargs, bound, std", [
    (init.uniform_, {"a": -2.0, "b": 4.0}, (-2.0, 4.0), 6 / math.sqrt(12)),
    (init.normal_, {"mean": 1.0, "std": 0.5}, None, 0.5),
    (init.xavier_uniform_, {"gain": 2.0}, (-2 * math.sqrt(6 / 700), 2 * math.sqrt(6 / 700)), 2 * math.sqrt(2 / 700)),
    (init.xavier_normal_, {}, None, math.sqrt(2 / 700)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, (-1 / math.sqrt(300), 1 / math.sqrt(300)), 1 / math.sqrt(900)),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, (-math.sqrt(6 / 400), math.sqrt(6 / 400)),
     math.sqrt(2 / 400)),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, None, math.sqrt(2 / 300)),
    (init.trunc_normal_, {"std": 0.02, "a": -0.04, "b": 0.04}, (-0.04, 0.04), None),
])
def test_distributions(fill, kwargs, bound, std):
    values = _std_of(fill, **kwargs)
    assert values.dtype == np.float32
    if bound is not None:
        assert values.min() >= bound[0] - 1e-7 and values.max() <= bound[1] + 1e-7
    if std is not None:
        assert values.std() == pytest.approx(std, rel=0.03)
    mean = kwargs.get("mean", 1.0 if fill is init.uniform_ else 0.0)
    assert values.mean() == pytest.approx(mean, abs=0.02 * (std or 1))


def test_trunc_normal_is_a_truncated_normal():
    values = _std_of(init.trunc_normal_, shape=(200000,))
    assert values.min() >= -2 and values.max() <= 2
    assert values.std() == pytest.approx(0.8796, rel=0.01)  # std of N(0, 1) truncated to [-2, 2]


def test_constants():
    t = md.empty(2, 3)
    assert (init.constant_(t, 0.3).numpy() == np.float32(0.3)).all()
    assert (init.zeros_(t).numpy() == 0).all() and (init.ones_(t).numpy() == 1).all()


@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (4, 2, 3)])
def test_orthogonal(shape):
    t = init.orthogonal_(md.empty(*shape, dtype=md.float64), gain=2.0)
    flat = t.numpy().reshape(shape[0], -1)
    small = min(flat.shape)
    product = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(product, 4 * np.eye(small), atol=1e-10)


def test_seeded_in_place_and_outside_the_graph():
    p = nn.Parameter(md.empty(3, 4))
    md.manual_seed(7)
    result = init.kaiming_uniform_(p, a=math.sqrt(5))
    first = p.detach().numpy().copy()
    md.manual_seed(7)
    init.kaiming_uniform_(p, a=math.sqrt(5))
    assert result is p and p.is_leaf and p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(first, p.detach().numpy())


def test_float64_tensors_are_filled_in_float64():
    t = init.normal_(md.empty(1000, dtype=md.float64))
    assert t.dtype == md.float64 and len(np.unique(t.numpy().astype(np.float32))) > 990


def test_linear_default_init_follows_torch_bounds():
    layer = nn.Linear(50, 20)
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound and values.std() > bound / 3
