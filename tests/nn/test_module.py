"""The Module API: registration, iteration, state dicts (also from PyTorch), modes, devices and
dtypes, hooks, containers and repr."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F


def build_net(lib):
    """A model using every kind of registration, built the same way in minidl and in torch."""
    layers = lib.nn

    class Model(layers.Module):
        def __init__(self):
            super().__init__()
            self.embed = layers.Embedding(10, 4, padding_idx=0)
            self.blocks = layers.ModuleList([layers.Linear(4, 6), layers.Linear(6, 6)])
            self.norms = layers.ModuleDict({"bn": layers.BatchNorm1d(6), "ln": layers.LayerNorm(6)})
            self.head = layers.Sequential(layers.ReLU(), layers.Dropout(0.1), layers.Linear(6, 3))
            self.scale = layers.Parameter(lib.ones(3))
            self.register_buffer("offset", lib.zeros(3))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, ids):
            h = self.embed(ids).mean(1)
            for block in self.blocks:
                h = block(h).tanh()
            h = self.norms["ln"](self.norms["bn"](h))
            return self.head(h) * self.scale + self.offset

    return Model()


def test_named_parameters_buffers_and_modules():
    model = build_net(md)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "embed.weight", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "norms.bn.weight", "norms.bn.bias", "norms.ln.weight", "norms.ln.bias", "head.2.weight",
                     "head.2.bias"]
    assert len(list(model.parameters())) == len(names)
    assert [n for n, _ in model.named_buffers()] == [
        "offset", "scratch", "norms.bn.running_mean", "norms.bn.running_var", "norms.bn.num_batches_tracked"]
    assert [n for n, _ in model.named_children()] == ["embed", "blocks", "norms", "head"]
    assert [n for n, _ in model.named_modules()][:4] == ["", "embed", "blocks", "blocks.0"]
    assert "scratch" not in model.state_dict() and "offset" in model.state_dict()
    assert len(list(model.parameters(recurse=False))) == 1


def test_shared_parameters_appear_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert len(list(model.modules())) == 3


@requires_torch
def test_state_dict_keys_and_values_load_from_torch():
    theirs, mine = build_net(torch), build_net(md)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for (key, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
        assert tuple(a.shape) == tuple(b.shape), key
    theirs.train()
    theirs(torch.randint(0, 10, (8, 5)))  # non-trivial running statistics
    theirs.eval()
    mine.eval()
    result = mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    ids = np.random.default_rng(0).integers(0, 10, size=(4, 5))
    np.testing.assert_allclose(mine(md.tensor(ids)).detach().numpy(), theirs(torch.tensor(ids)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_load_state_dict_missing_unexpected_and_shape_errors():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    state = model.state_dict()
    partial = {k: v for k, v in state.items() if k != "0.bias"}
    partial["extra"] = md.zeros(1)
    with pytest.raises(RuntimeError, match=r"missing keys: \['0.bias'\].*unexpected keys: \['extra'\]"):
        model.load_state_dict(partial)
    result = model.load_state_dict(partial, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["extra"]
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: .*\(3, 3\).*\(3, 2\)"):
        model.load_state_dict({**state, "0.weight": md.zeros(3, 3)})


def test_load_state_dict_copies_in_place_and_casts():
    model = nn.Linear(2, 2)
    weight = model.weight
    model.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert model.weight is weight and weight.dtype == md.float32
    np.testing.assert_array_equal(weight.detach().numpy(), np.ones((2, 2)))


def test_state_dict_tensors_share_storage_and_are_detached():
    model = nn.Linear(2, 2)
    value = model.state_dict()["weight"]
    assert not value.requires_grad and type(value) is md.Tensor
    with md.no_grad():
        model.weight.fill_(3.0)
    assert (value.numpy() == 3).all()
    assert model.state_dict(keep_vars=True)["weight"] is model.weight


def test_train_eval_propagate():
    model = build_net(md)
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_to_double_keeps_parameter_objects_and_integer_buffers():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    model.double()
    assert model[0].weight is weight and weight.dtype == md.float64 and weight.requires_grad
    assert model[1].running_mean.dtype == md.float64
    assert model[1].num_batches_tracked.dtype == md.int64
    assert model.float()[0].weight.dtype == md.float32
    assert model.half()[0].weight.dtype == md.float16
    assert model.to("cpu", dtype=md.float32)[0].weight.dtype == md.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(md.int64)


def test_zero_grad_apply_and_requires_grad():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model(md.randn(3, 2)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    visited = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Linear", "Sequential"]
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert (model[0].weight.detach().numpy() == 0).all()
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_forward_hooks_and_removal():
    layer = nn.Linear(2, 2)
    seen = []
    pre = layer.register_forward_pre_hook(lambda module, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda module, args, output: seen.append(output.shape) or output + 1)
    out = layer(md.randn(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(layer.bias.detach().numpy() + 1, (3, 2)))
    assert seen == [(3, 2)]
    pre.remove()
    post.remove()
    x = md.randn(3, 2)
    np.testing.assert_allclose(layer(x).detach().numpy(), F.linear(x, layer.weight, layer.bias).detach().numpy())


def test_registration_rules():
    model = nn.Module()
    model.register_buffer("count", md.zeros(1))
    model.weight = nn.Parameter(md.zeros(2))
    with pytest.raises(TypeError, match="nn.Parameter or None expected"):
        model.weight = md.zeros(2)
    with pytest.raises(TypeError, match="Tensor or None expected"):
        model.count = 3
    with pytest.raises(KeyError, match="contain no '.'"):
        model.register_buffer("a.b", md.zeros(1))
    model.weight = None
    assert list(model.state_dict()) == ["count"]
    del model.count
    assert list(model.state_dict()) == []
    model.child = nn.Linear(1, 1)
    model.child = None
    assert list(model.children()) == []
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = model.missing
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        model(md.zeros(1))


def test_uninitialised_module_registration_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_sequential_indexing_slicing_and_mutation():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(model[0], nn.Linear) and isinstance(model[-1], nn.Linear) and len(model) == 3
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    model.append(nn.Sigmoid())
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    del model[1]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    with pytest.raises(IndexError, match="out of range"):
        model[7]


def test_module_list_and_dict():
    blocks = nn.ModuleList([nn.Linear(2, 2)])
    blocks.append(nn.ReLU())
    blocks.extend([nn.Linear(2, 2)])
    blocks.insert(0, nn.Tanh())
    assert [type(b).__name__ for b in blocks] == ["Tanh", "Linear", "ReLU", "Linear"]
    assert len(blocks[1:]) == 3 and blocks[-1] is blocks[3]
    table = nn.ModuleDict({"a": nn.Linear(1, 1)})
    table["b"] = nn.ReLU()
    assert list(table.keys()) == ["a", "b"] and "a" in table and len(table) == 2
    assert list(table.state_dict()) == ["a.weight", "a.bias"]


@requires_torch
def test_repr_matches_torch():
    assert repr(build_net(md)).replace("Model", "") == repr(build_net(torch)).replace("Model", "")


def test_parameter_basics():
    p = nn.Parameter(md.ones(2, 2))
    assert p.requires_grad and p.is_leaf and isinstance(p, md.Tensor)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    data = md.zeros(3)
    shared = nn.Parameter(data)
    with md.no_grad():
        shared.add_(1.0)
    assert (data.numpy() == 1).all()
    assert not nn.Parameter(md.zeros(1), requires_grad=False).requires_grad
    assert type(p * 2) is md.Tensor


def test_deepcopy_gives_independent_parameters():
    model = nn.Linear(2, 2)
    clone = copy.deepcopy(model)
    assert isinstance(clone.weight, nn.Parameter) and clone.weight is not model.weight
    with md.no_grad():
        clone.weight.zero_()
    assert not (model.weight.detach().numpy() == 0).all()
