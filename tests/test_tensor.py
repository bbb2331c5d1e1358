"""Tensor creation, dtypes and promotion, conversions, in-place semantics, seeding and errors."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md

# ---- creation and dtypes ------------------------------------------------------------------


def test_python_floats_and_float64_arrays_become_float32():
    assert md.tensor(1.5).dtype == md.float32
    assert md.tensor([1.0, 2.0]).dtype == md.float32
    assert md.tensor(np.zeros(3)).dtype == md.float32
    assert md.tensor(np.zeros(3), dtype=md.float64).dtype == md.float64
    assert md.tensor([1, 2]).dtype == md.int64
    assert md.tensor([True, False]).dtype == md.bool


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    copied, shared = md.tensor(a), md.from_numpy(a)
    a[0] = 5
    assert copied[0].item() == 0 and shared[0].item() == 5
    assert md.from_numpy(np.zeros(2)).dtype == md.float64  # keeps the array's dtype


def test_default_dtype_can_be_changed():
    md.set_default_dtype(md.float64)
    try:
        assert md.tensor(1.0).dtype == md.float64
        assert md.zeros(2).dtype == md.float64
    finally:
        md.set_default_dtype(md.float32)
    with pytest.raises(TypeError, match="only float dtypes"):
        md.set_default_dtype(md.int32)


@pytest.mark.parametrize("factory", ["zeros", "ones", "empty", "rand", "randn"])
def test_factories_take_sizes_dtype_and_requires_grad(factory):
    t = getattr(md, factory)(2, 3, dtype=md.float64, requires_grad=True)
    assert t.shape == (2, 3) and t.dtype == md.float64 and t.requires_grad and t.is_leaf
    assert getattr(md, factory)((4,)).dtype == md.float32


def test_other_factories():
    assert md.full((2, 2), 7).dtype == md.int64
    assert md.full((2,), 0.5).tolist() == [0.5, 0.5]
    assert md.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert md.arange(0, 1, 0.25).dtype == md.float32
    np.testing.assert_allclose(md.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(md.eye(3).numpy(), np.eye(3))
    r = md.randint(0, 10, (1000,))
    assert r.dtype == md.int64 and 0 <= r.min().item() and r.max().item() < 10
    like = md.zeros_like(md.ones(2, 3, dtype=md.float64))
    assert like.shape == (2, 3) and like.dtype == md.float64
    assert md.full_like(md.ones(2), 3.0).tolist() == [3.0, 3.0]
    assert sorted(md.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_manual_seed_makes_runs_bit_identical():
    md.manual_seed(42)
    first = (md.randn(5), md.rand(3), md.randint(0, 100, (4,)))
    md.manual_seed(42)
    second = (md.randn(5), md.rand(3), md.randint(0, 100, (4,)))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    state = md.get_rng_state()
    after = md.randn(3).numpy()
    md.set_rng_state(state)
    np.testing.assert_array_equal(md.randn(3).numpy(), after)


@requires_torch
@pytest.mark.parametrize(
    "left, right",
    [
        ("int64", "float32"), ("int32", "float64"), ("float32", "float64"), ("bool", "int64"),
        ("float16", "float32"), ("int32", "int64"), ("bool", "float32"),
    ],
)
def test_promotion_matches_torch(left, right):
    a = md.ones(2, dtype=left)
    b = md.ones(2, dtype=right)
    ta = torch.ones(2, dtype=getattr(torch, left))
    tb = torch.ones(2, dtype=getattr(torch, right))
    assert str((a + b).dtype) == str((ta + tb).dtype).replace("torch.", "")


@requires_torch
@pytest.mark.parametrize("dtype", ["int64", "float32", "float64", "bool", "float16"])
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_scalar_operands_promote_like_torch(dtype, scalar):
    mine = md.ones(3, dtype=dtype) * scalar
    theirs = torch.ones(3, dtype=getattr(torch, dtype)) * scalar
    assert str(mine.dtype) == str(theirs.dtype).replace("torch.", "")


def test_true_division_of_integers_gives_default_float():
    assert (md.tensor([1, 2]) / 2).dtype == md.float32
    assert (md.tensor([3, 4]) // 2).tolist() == [1, 2]
    assert (md.tensor([-3, 4]) % 3).tolist() == [0, 1]


def test_numpy_scalars_on_the_left_give_tensors():
    t = np.float32(2.0) * md.ones(2)
    assert isinstance(t, md.Tensor) and t.tolist() == [2.0, 2.0]


# ---- conversions ---------------------------------------------------------------------------


def test_conversions_and_attributes():
    x = md.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 4 and x.size() == (2, 2) and x.size(-1) == 2
    assert x.long().dtype == md.int64 and x.int().dtype == md.int32 and x.double().dtype == md.float64
    assert x.half().dtype == md.float16 and x.bool().dtype == md.bool and x.long().float().dtype == md.float32
    assert x.to(md.float64).dtype == md.float64 and x.to("cpu") is x
    assert str(x.device) == "cpu" and x.device == md.Device("cpu")
    assert x[0, 0].item() == 1.5 and x.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert x.T.tolist() == [[1.5, 3.0], [2.0, 4.0]]
    assert float(x.sum()) == 10.5


def test_numpy_refuses_tensors_that_require_grad():
    x = md.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]


def test_item_and_bool_on_many_elements_say_why():
    with pytest.raises(RuntimeError, match="3 elements"):
        md.ones(3).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(md.ones(3))


def test_repr_reads_like_pytorch():
    assert repr(md.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(md.ones(1, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(md.ones(1, requires_grad=True) * 2)
    assert "dtype=minidl.float64" in repr(md.ones(1, dtype=md.float64))


def test_cast_is_differentiable():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 3
    y.sum().backward()
    assert x.grad.dtype == md.float32 and x.grad.tolist() == [3.0, 3.0]


def test_data_and_detach_share_storage():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad
    x.data.mul_(2)  # the usual manual-update idiom
    assert d.tolist() == [2.0, 4.0]


def test_views_share_storage():
    x = md.zeros(2, 3)
    x.view(-1)[4] = 7.0
    x.T[0, 1] = 1.0
    assert x.tolist() == [[0.0, 0.0, 0.0], [1.0, 7.0, 0.0]]


# ---- in-place operations and the version counter -----------------------------------------


def test_inplace_ops_without_grad_change_the_tensor():
    x = md.ones(3)
    x += 1
    x.mul_(3).sub_(1).div_(5)
    assert x.tolist() == [1.0, 1.0, 1.0]
    x.zero_()
    x.fill_(2.5)
    x.clamp_(max=2.0)
    assert x.tolist() == [2.0, 2.0, 2.0]
    x.copy_(md.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    x[1:] = 0
    assert x.tolist() == [1.0, 0.0, 0.0]


def test_inplace_on_a_leaf_that_requires_grad_is_refused():
    w = md.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad.*no_grad"):
        w.add_(1)
    with md.no_grad():
        w.add_(1)
    assert w.tolist() == [2.0, 2.0]


def test_modifying_a_saved_tensor_in_place_is_caught_at_backward():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    w = (y * y).sum()     # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*version 1; expected version 0"):
        w.backward()


def test_inplace_ops_in_the_graph_give_torch_gradients():
    x = md.tensor([0.5, -1.5, 2.0], dtype=md.float64, requires_grad=True)
    y = x * 1
    y.mul_(x)
    y += 1
    y[0] = x[1] * 4
    y.sum().backward()
    # d/dx of [4 x1, x1^2 + 1, x2^2 + 1] summed
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 2 * -1.5 + 4, 4.0])


def test_inplace_on_a_view_of_a_graph_tensor_is_refused():
    x = md.ones(4, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="view of a tensor that requires grad"):
        y[:2].mul_(3)


def test_inplace_type_mismatch_is_refused():
    x = md.tensor([1, 2])
    with pytest.raises(RuntimeError, match="mul_"):
        x.mul_(1.5)


# ---- errors that name the op and the shapes -----------------------------------------------


def test_shape_mismatch_names_op_and_both_shapes():
    with pytest.raises(RuntimeError, match=r"add: .*\(2,3\).*\(4,\)|add: .*\(2, 3\).*\(4,\)"):
        md.ones(2, 3) + md.ones(4)
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        md.ones(2, 3) @ md.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"cat: .*\(2, 3\).*\(2, 4\)"):
        md.cat([md.ones(2, 3), md.ones(2, 4)], dim=0)
    with pytest.raises(RuntimeError, match=r"reshape: shape \(4, 4\) is invalid for input of shape \(2, 3\)"):
        md.ones(2, 3).reshape(4, 4)
    with pytest.raises(IndexError, match=r"sum: dimension 2 is out of range .* 2 dimensions"):
        md.ones(2, 3).sum(2)
    with pytest.raises(RuntimeError, match=r"expand: .*\(2, 3\).*\(4, 3\)"):
        md.ones(2, 3).expand(4, 3)


def test_indexing_errors_name_the_op():
    with pytest.raises(IndexError, match="index"):
        md.ones(2, 3)[5]
    with pytest.raises(IndexError, match="gather: index out of range"):
        md.ones(2, 3).gather(1, md.tensor([[0, 3]]))


# ---- small PyTorch names: dtype predicates, numel, factories' keywords, methods --------------


@requires_torch
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "uint8", "bool"])
def test_is_floating_point_matches_torch(dtype):
    x, t = md.zeros(2, dtype=dtype), torch.zeros(2, dtype=getattr(torch, dtype))
    assert x.is_floating_point() is t.is_floating_point()
    assert md.is_floating_point(x) is torch.is_floating_point(t)


@requires_torch
def test_is_tensor_and_numel_match_torch():
    for obj in (1.0, [1.0], np.ones(2)):
        assert md.is_tensor(obj) is torch.is_tensor(obj) is False
    assert md.is_tensor(md.ones(1)) and md.is_tensor(md.nn.Parameter(md.ones(1)))
    assert md.numel(md.ones(2, 3, 4)) == torch.numel(torch.ones(2, 3, 4)) == 24
    assert md.numel(md.tensor(5.0)) == torch.numel(torch.tensor(5.0)) == 1


@pytest.mark.parametrize("op", ["is_floating_point", "numel"])
def test_tensor_predicates_refuse_non_tensors(op):
    with pytest.raises(TypeError, match=f"{op}: expected a Tensor as input, got ndarray"):
        getattr(md, op)(np.ones(2))


def test_like_factories_take_device_and_requires_grad():
    x = md.ones(2, 3, dtype=md.float64)
    for factory in (md.ones_like, md.zeros_like, md.empty_like, md.rand_like, md.randn_like):
        y = factory(x, device="cpu", requires_grad=True)
        assert y.shape == (2, 3) and y.dtype == md.float64 and y.requires_grad and y.is_leaf, factory
    assert md.ones_like(x).tolist() == [[1.0] * 3] * 2 and not md.ones_like(x).requires_grad


def test_integer_factories_take_requires_grad_and_refuse_true_like_torch():
    assert not md.randint(0, 5, (3,), requires_grad=False).requires_grad
    assert not md.randperm(4, requires_grad=False).requires_grad
    assert md.randperm(4, dtype=md.float32, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require gradients"):
        md.randint(0, 5, (3,), requires_grad=True)


@requires_torch
@pytest.mark.parametrize("op", ["bitwise_and", "bitwise_or", "bitwise_xor"])
def test_bitwise_methods_match_torch(op):
    a, b = np.array([0b1100, 7, -3]), np.array([0b1010, 2, 5])
    mine = getattr(md.tensor(a), op)(md.tensor(b))
    theirs = getattr(torch.tensor(a), op)(torch.tensor(b))
    assert mine.tolist() == theirs.tolist()
    assert md.tensor([True, False]).bitwise_not().tolist() == torch.tensor([True, False]).bitwise_not().tolist()
    assert md.tensor(a).bitwise_not().tolist() == torch.tensor(a).bitwise_not().tolist()


@requires_torch
def test_ger_method_matches_torch():
    a, b = np.arange(3.0), np.arange(4.0)
    np.testing.assert_array_equal(md.tensor(a).ger(md.tensor(b)).numpy(), torch.tensor(a).ger(torch.tensor(b)).numpy())


def test_t_refuses_more_than_two_dims():
    with pytest.raises(RuntimeError, match=r"t: expected a tensor of at most 2 dimensions, got .* \(2, 3, 4\)"):
        md.ones(2, 3, 4).t()
    assert md.ones(3).t().shape == (3,) and md.tensor(2.0).t().shape == ()


@requires_torch
def test_relu_inplace_writes_into_its_input_like_torch():
    data = np.array([-1.5, 0.0, 2.0])
    x, t = md.tensor(data), torch.tensor(data)
    assert md.nn.functional.relu(x, inplace=True) is x and x.relu_() is x
    torch.nn.functional.relu(t, inplace=True)
    assert x.tolist() == t.tolist()
    leaf = md.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="relu_: a leaf tensor that requires grad"):
        md.nn.ReLU(inplace=True)(leaf)
