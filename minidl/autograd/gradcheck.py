"""Numerical gradient checks: compare autograd's Jacobian with central finite differences.

    x = md.randn(3, 4, dtype=md.float64, requires_grad=True)
    md.autograd.gradcheck(lambda t: (t.sin() * t).sum(1), (x,))     # True, or raises

Use float64 inputs: in float32 the finite-difference error swamps the comparison.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .engine import grad as autograd_grad


class GradcheckError(RuntimeError):
    """Raised when the analytical and numerical gradients disagree."""


def _as_tuple(value: Any) -> tuple:
    from ..tensor import Tensor

    return (value,) if isinstance(value, Tensor) else tuple(value)


def _differentiable(inputs: tuple) -> list[int]:
    from ..tensor import Tensor

    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _numerical_jacobian(fn: Callable, inputs: tuple, index: int, eps: float) -> list[np.ndarray]:
    """One Jacobian block per output: d(output)/d(inputs[index]), shape (out.numel, in.numel)."""
    target = inputs[index]
    if not target._data.flags.c_contiguous:
        raise GradcheckError("gradcheck: inputs must be contiguous tensors (call .contiguous() first)")
    flat = target._data.reshape(-1)  # a view of a contiguous array: perturb in place, then restore
    columns: list[list[np.ndarray]] = []
    # Not under no_grad: fn may itself call autograd.grad (gradgradcheck does).
    for k in range(flat.size):
        original = flat[k].copy()
        flat[k] = original + eps
        plus = [o._host().astype(np.float64).ravel() for o in _as_tuple(fn(*inputs))]
        flat[k] = original - eps
        minus = [o._host().astype(np.float64).ravel() for o in _as_tuple(fn(*inputs))]
        flat[k] = original
        columns.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    if not columns:
        outputs = _as_tuple(fn(*inputs))
        return [np.zeros((o.numel(), 0)) for o in outputs]
    return [np.stack([column[j] for column in columns], axis=1) for j in range(len(columns[0]))]


def _analytical_jacobian(outputs: tuple, inputs: tuple, index: int) -> list[np.ndarray]:
    from ..backend import array_module
    from ..tensor import Tensor

    target = inputs[index]
    blocks = []
    for out in outputs:
        rows = np.zeros((out.numel(), target.numel()))
        if out.requires_grad:
            for r in range(out.numel()):
                seed = array_module(out._data).zeros(out.numel(), dtype=out.dtype)  # on out's device
                seed[r] = 1
                (g,) = autograd_grad([out], [target], [Tensor._make(seed.reshape(out.shape))],
                                     retain_graph=True, allow_unused=True)
                if g is not None:
                    if g.shape != target.shape:
                        raise GradcheckError(
                            f"gradcheck: gradient for input {index} has shape {tuple(g.shape)}, "
                            f"expected {tuple(target.shape)}"
                        )
                    rows[r] = g._host().astype(np.float64).ravel()
        blocks.append(rows)
    return blocks


def gradcheck(fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Check ``fn``'s gradients w.r.t. every input that requires grad, by central differences.

    Returns True, or raises ``GradcheckError`` naming the worst mismatch
    (``raise_exception=False`` returns False instead).
    """
    inputs = _as_tuple(inputs)
    for i in _differentiable(inputs):
        if inputs[i].dtype != np.float64:
            raise GradcheckError(
                f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs (x.double()) so "
                "finite differences are accurate enough to compare"
            )
    outputs = _as_tuple(fn(*inputs))
    for i in _differentiable(inputs):
        analytical = _analytical_jacobian(outputs, inputs, i)
        numerical = _numerical_jacobian(fn, inputs, i, eps)
        for j, (a, n) in enumerate(zip(analytical, numerical)):
            excess = np.abs(a - n) - (atol + rtol * np.abs(n))
            bad = ~(excess <= 0)  # NaN counts as a mismatch
            if bad.any():
                worst = np.unravel_index(np.argmax(np.where(np.isnan(excess), np.inf, excess)), excess.shape)
                message = (
                    f"gradcheck: Jacobian mismatch for output {j} with respect to input {i}, "
                    f"at output element {worst[0]}, input element {worst[1]}: "
                    f"analytical {a[worst]:.8g} vs numerical {n[worst]:.8g} "
                    f"(atol={atol}, rtol={rtol}); max abs difference {np.abs(a - n).max():.3g}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(fn: Callable, inputs: Any, grad_outputs: Sequence[Any] | None = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of ``inputs -> autograd.grad(fn(inputs), inputs, v)``.

    ``v`` (the output gradients) are random unless given; they are checked as inputs too.
    """
    from ..creation import randn
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    outputs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        grad_outputs = [randn(o.shape, dtype=np.float64, device=o.device, requires_grad=True) for o in outputs]
    grad_outputs = tuple(grad_outputs)
    differentiable = _differentiable(inputs)
    count = len(inputs)

    def first_derivatives(*args: Tensor) -> tuple:
        xs, vs = args[:count], args[count:]
        outs = _as_tuple(fn(*xs))
        grads = autograd_grad(list(outs), [xs[i] for i in differentiable], list(vs),
                              create_graph=True, allow_unused=True)
        return tuple(
            g if g is not None else xs[i] * 0.0 for g, i in zip(grads, differentiable)
        )

    return gradcheck(first_derivatives, inputs + grad_outputs, eps, atol, rtol, raise_exception)
