"""``inplace=True`` on activations and dropout (minidl/nn/functional.py and the layers): the result
is written into the input, which is returned; values and gradients are those of the out-of-place
op; a leaf that requires grad is refused, as in PyTorch."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F

LAYERS = {  # name: (minidl layer, PyTorch layer)
    "ReLU": lambda lib: lib.nn.ReLU(inplace=True),
    "ReLU6": lambda lib: lib.nn.ReLU6(inplace=True),
    "Hardtanh": lambda lib: lib.nn.Hardtanh(-0.5, 0.7, inplace=True),
    "LeakyReLU": lambda lib: lib.nn.LeakyReLU(0.2, inplace=True),
    "ELU": lambda lib: lib.nn.ELU(0.8, inplace=True),
    "SELU": lambda lib: lib.nn.SELU(inplace=True),
    "SiLU": lambda lib: lib.nn.SiLU(inplace=True),
}


@requires_torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_inplace_layer_writes_into_its_input_and_matches_torch(name, rng):
    array = rng.standard_normal((3, 4)) * 2
    leaf_m = md.tensor(array, dtype=md.float64, requires_grad=True)
    leaf_t = torch.tensor(array, requires_grad=True)
    hidden_m, hidden_t = leaf_m * 1.5, leaf_t * 1.5  # a non-leaf, which may be changed in place
    out_m, out_t = LAYERS[name](md)(hidden_m), LAYERS[name](torch)(hidden_t)
    assert out_m is hidden_m
    np.testing.assert_allclose(hidden_m.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    upstream = rng.standard_normal((3, 4))
    (out_m * md.tensor(upstream, dtype=md.float64)).sum().backward()
    (out_t * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(leaf_m.grad.numpy(), leaf_t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", list(LAYERS))
def test_inplace_layer_refuses_a_leaf_that_requires_grad(name):
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        LAYERS[name](md)(md.randn(3, requires_grad=True))


def test_inplace_under_no_grad_changes_a_parameter_like_tensor():
    x = md.tensor([-1.0, 2.0], requires_grad=True)
    with md.no_grad():
        assert F.leaky_relu(x, 0.5, inplace=True) is x
    np.testing.assert_array_equal(x.detach().numpy(), [-0.5, 2.0])


@pytest.mark.parametrize("layer, shape", [(nn.Dropout(0.5, inplace=True), (200,)),
                                          (nn.Dropout2d(0.5, inplace=True), (2, 50, 3, 3))])
def test_inplace_dropout_masks_its_input(layer, shape):
    md.manual_seed(0)
    leaf = md.ones(*shape, requires_grad=True)
    hidden = leaf * 1.0
    out = layer(hidden)
    assert out is hidden
    values = hidden.detach().numpy()
    assert set(np.unique(values)) == {0.0, 2.0}
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), values)  # the gradient is the mask (scaled)
    layer.eval()
    x = md.ones(*shape)
    assert layer(x) is x and (x.numpy() == 1).all()
