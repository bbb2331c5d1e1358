"""The backward engine: accumulation, retain_graph, create_graph, autograd.grad, hooks, deep graphs."""

import gc
import sys
import tracemalloc

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md


def test_gradients_accumulate_across_backward_calls():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_a_tensor_used_twice_gets_both_contributions():
    x = md.tensor(3.0, requires_grad=True)
    y = x * x + x
    y.backward()
    assert x.grad.item() == pytest.approx(7.0)


def test_leaf_grads_never_share_memory():
    a = md.ones(3, requires_grad=True)
    b = md.ones(3, requires_grad=True)
    (a + b).sum().backward()  # Add's backward hands the same gradient to both
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1])


def test_broadcast_gradient_into_grad_is_writable():
    w = md.ones(1, 3, requires_grad=True)
    (w.expand(4, 3) * 2).sum().backward()
    w.grad.mul_(0.5)  # an expanded (zero-stride) gradient must have been made a real array
    np.testing.assert_array_equal(w.grad.numpy(), [[4, 4, 4]])


def test_second_backward_through_freed_graph_says_what_to_do():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_backward_on_non_scalar_needs_a_gradient():
    x = md.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2, 3\).*loss.sum\(\)"):
        (x * 2).backward()
    (x * 2).backward(md.ones(2, 3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_backward_gradient_of_wrong_shape_is_refused():
    x = md.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*shape \(2, 3\)"):
        (x * 2).backward(md.ones(3))


def test_backward_on_tensor_without_grad_says_how_to_fix():
    with pytest.raises(RuntimeError, match="does not require grad.*requires_grad=True"):
        md.ones(2).sum().backward()


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int64.*float\\(\\)"):
        md.tensor([1, 2, 3], requires_grad=True)


def test_chain_of_ten_thousand_ops_backpropagates_without_recursion():
    x = md.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**10_000, rel=1e-3)


def test_higher_order_gradients():
    x = md.tensor(2.0, dtype=md.float64, requires_grad=True)
    y = x**4
    (d1,) = md.autograd.grad(y, x, create_graph=True)
    (d2,) = md.autograd.grad(d1, x, create_graph=True)
    (d3,) = md.autograd.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == pytest.approx((32.0, 48.0, 48.0))


def test_create_graph_backward_builds_differentiable_grad():
    x = md.tensor([1.0, 2.0], dtype=md.float64, requires_grad=True)
    (x.sin().sum()).backward(create_graph=True)
    assert x.grad.requires_grad
    (g,) = md.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g.numpy(), -np.sin([1.0, 2.0]))


def test_autograd_grad_leaves_dot_grad_alone_and_handles_non_leaves():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    gx, gh = md.autograd.grad(y, [x, h])
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gx.numpy(), [18.0, 36.0])
    assert x.grad is None


def test_autograd_grad_unused_input():
    x = md.tensor(1.0, requires_grad=True)
    z = md.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="not used.*allow_unused=True"):
        md.autograd.grad(x * 2, [x, z])
    gx, gz = md.autograd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None


def test_backward_inputs_restricts_accumulation():
    a = md.tensor(1.0, requires_grad=True)
    b = md.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_no_grad_records_nothing_and_works_as_decorator():
    x = md.ones(2, requires_grad=True)
    with md.no_grad():
        y = x * 2
        with md.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @md.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    assert md.is_grad_enabled()


def test_set_grad_enabled_as_call_and_context():
    x = md.ones(2, requires_grad=True)
    with md.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert md.is_grad_enabled()
    md.set_grad_enabled(False)
    try:
        assert not md.is_grad_enabled()
    finally:
        md.set_grad_enabled(True)


def test_retain_grad_and_hooks():
    x = md.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)  # a leaf hook may replace the gradient
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4.0, 8.0])
    np.testing.assert_allclose(seen[0], [4.0, 8.0])
    np.testing.assert_allclose(x.grad.numpy(), [80.0, 160.0])


def test_custom_function_with_saved_tensors_and_non_tensor_args():
    class ScaledExp(md.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            y = x.exp() * scale
            ctx.save_for_backward(y)
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y, None

    x = md.tensor([0.5, -1.0], dtype=md.float64, requires_grad=True)
    assert md.autograd.gradcheck(lambda t: ScaledExp.apply(t, 3.0), (x,))
    y = ScaledExp.apply(x, 3.0)
    assert y.grad_fn.name() == "ScaledExpBackward"


def test_custom_function_second_order():
    class Cube(md.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

    x = md.tensor([0.7, -1.3], dtype=md.float64, requires_grad=True)
    assert md.autograd.gradgradcheck(Cube.apply, (x,))


class _SecondDeviceArray(np.ndarray):
    """Stands in for a CuPy array: a different array type means a different device."""


def test_mixing_devices_is_refused(monkeypatch):
    tensor_module = sys.modules["minidl.tensor"]  # md.tensor is the factory function
    real_device_of = tensor_module.device_of
    monkeypatch.setattr(
        tensor_module, "device_of",
        lambda a: md.Device("cuda:0") if isinstance(a, _SecondDeviceArray) else real_device_of(a),
    )
    a = md.ones(2)
    b = md.ones(2)
    b._data = b._data.view(_SecondDeviceArray)
    expected = r"add: expected all tensors on the same device.*cpu, cuda:0.*\.to\(device\)"
    with pytest.raises(RuntimeError, match=expected):
        a + b


def test_cuda_is_unavailable_without_cupy_and_says_how_to_get_it():
    if md.cuda.is_available():
        pytest.skip("a GPU is present")
    assert md.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match=r"minidl\[gpu\]"):
        md.ones(2).cuda()
    with pytest.raises(RuntimeError, match="CuPy"):
        md.zeros(2, device="cuda")


def test_memory_stays_flat_over_training_like_iterations():
    rng = np.random.default_rng(0)
    w = md.tensor(rng.standard_normal((64, 32)), requires_grad=True)
    b = md.zeros(32, requires_grad=True)
    x = md.tensor(rng.standard_normal((128, 64)))

    def step():
        loss = ((x @ w + b).relu() ** 2).mean()
        loss.backward()
        with md.no_grad():
            w.sub_(w.grad * 1e-3)
            b.sub_(b.grad * 1e-3)
        w.grad = None
        b.grad = None

    tracemalloc.start()
    try:
        for _ in range(100):  # warm-up: lazily created caches settle
            step()
        gc.collect()
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            step()
        gc.collect()
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert end - start < 20_000, f"memory grew by {end - start} bytes over 1000 iterations"


def test_graph_is_freed_without_the_cycle_collector():
    gc.disable()
    try:
        x = md.ones(1000, requires_grad=True)
        tracemalloc.start()
        for _ in range(100):
            y = (x.exp() * 2).sigmoid().sum()
            y.backward()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert current < 500_000, "graphs were kept alive by reference cycles"
    finally:
        gc.enable()


@requires_torch
def test_matches_torch_on_a_small_mlp():
    rng = np.random.default_rng(3)
    data = {k: rng.standard_normal(s) for k, s in {"x": (5, 4), "w1": (4, 8), "w2": (8, 3)}.items()}
    mine = {k: md.tensor(v, dtype=md.float64, requires_grad=k != "x") for k, v in data.items()}
    theirs = {k: torch.tensor(v, requires_grad=k != "x") for k, v in data.items()}
    for lib, t in ((md, mine), (torch, theirs)):
        logits = (t["x"] @ t["w1"]).tanh() @ t["w2"]
        loss = (logits - lib.logsumexp(logits, 1, keepdim=True)).mean()
        loss.backward()
    for k in ("w1", "w2"):
        np.testing.assert_allclose(mine[k].grad.numpy(), theirs[k].grad.numpy(), rtol=1e-10)
