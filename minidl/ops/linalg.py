"""Matrix products: matmul (with NumPy's batching and 1-D rules), mm, bmm, outer, einsum."""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor
from .elementwise import _operands


class MatMul(Op):
    """``a @ b``. Batch dims broadcast; a 1-D operand acts as a row (left) or column (right)."""

    @staticmethod
    def forward(ctx, a, b):
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        ctx.ndims = (a.ndim, b.ndim)
        return array_module(a).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_ndim, b_ndim = ctx.ndims
        if a_ndim == 1 and b_ndim == 1:  # a dot product: grad is a scalar
            return (grad * b if b is not None else None), (grad * a if a is not None else None)
        # Treat 1-D operands as matrices, then drop the dim that was added.
        if a_ndim == 1:
            grad = grad.unsqueeze(-2)
        if b_ndim == 1:
            grad = grad.unsqueeze(-1)
        grad_a = grad_b = None
        if b is not None:
            b2 = b.unsqueeze(-1) if b_ndim == 1 else b
            grad_a = grad.matmul(b2.mT)
            if a_ndim == 1:
                grad_a = grad_a.squeeze(-2)
        if a is not None:
            a2 = a.unsqueeze(0) if a_ndim == 1 else a
            grad_b = a2.mT.matmul(grad)
            if b_ndim == 1:
                grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with broadcasting over batch dims, as ``numpy.matmul``.

    input: (..., n, k), other: (..., k, m) -> (..., n, m)
    """
    a, b = _operands(input, other)
    if not isinstance(a, Tensor):
        a = Tensor._make(a)
    if not isinstance(b, Tensor):
        b = Tensor._make(b)
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments need at least 1 dimension, got shapes {tuple(a.shape)} and {tuple(b.shape)}"
        )
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise RuntimeError(
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} can't be multiplied "
            f"({inner_a} columns on the left vs {inner_b} rows on the right)"
        )
    return MatMul.apply(a, b)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices: (n, k) @ (k, m) -> (n, m)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected two 2-D tensors, got shapes {tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product: (b, n, k) @ (b, k, m) -> (b, n, m)."""
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0]:
        raise RuntimeError(
            f"bmm: expected (b, n, k) and (b, k, m) tensors with the same b, got shapes "
            f"{tuple(input.shape)} and {tuple(mat2.shape)}"
        )
    return matmul(input, mat2)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors: (n,), (m,) -> (n, m)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {tuple(input.shape)} and {tuple(vec2.shape)}")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: expected two 1-D tensors, got shapes {tuple(input.shape)} and {tuple(other.shape)}")
    return matmul(input, other)


class Einsum(Op):
    """einsum over explicit subscripts (``'bij,bjk->bik'``); the gradient of each operand is
    another einsum of the output gradient with the other operands."""

    @staticmethod
    def forward(ctx, *arrays, inputs, output, sizes):
        ctx.inputs, ctx.output, ctx.sizes = inputs, output, sizes
        ctx.save_for_backward(*[
            a if any(n for j, n in enumerate(ctx.needs_input_grad) if j != i) else None
            for i, a in enumerate(arrays)
        ])
        return array_module(arrays[0]).einsum(",".join(inputs) + "->" + output, *arrays)

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        grads = []
        for i, target in enumerate(ctx.inputs):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(s, t) for j, (s, t) in enumerate(zip(ctx.inputs, operands)) if j != i]
            available = set(ctx.output).union(*[set(s) for s, _ in others]) if others else set(ctx.output)
            # Letters of the target that appear nowhere else were summed away: broadcast them back.
            kept = "".join(c for c in target if c in available)
            partial = Einsum.apply(
                grad, *[t for _, t in others],
                inputs=(ctx.output, *[s for s, _ in others]), output=kept, sizes=ctx.sizes,
            )
            if kept != target:
                shape = [partial.shape[kept.index(c)] if c in kept else 1 for c in target]
                full = [ctx.sizes[c] for c in target]
                partial = partial.reshape(shape).expand(full)
            grads.append(partial)
        return tuple(grads)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)`` (batched matmul).

    Supports explicit and implicit output, and ``...``; a letter repeated within one operand
    (a diagonal) is not supported.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in operands]
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(tensors):
        raise ValueError(f"einsum: the equation {equation!r} names {len(inputs)} operands, got {len(tensors)}")
    used = set(c for c in equation if c.isalpha())
    spare = [c for c in string.ascii_letters if c not in used]
    ellipsis_dims = max((t.ndim - len(s.replace("...", "")) for s, t in zip(inputs, tensors) if "..." in s), default=0)
    ellipsis = "".join(spare[:ellipsis_dims])
    expanded = []
    for s, t in zip(inputs, tensors):
        if "..." in s:
            k = t.ndim - len(s.replace("...", ""))
            s = s.replace("...", ellipsis[ellipsis_dims - k:])
        if len(s) != t.ndim:
            raise ValueError(f"einsum: subscripts {s!r} don't match an operand of shape {tuple(t.shape)}")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum: repeated subscripts within one operand ({s!r}) are not supported")
        expanded.append(s)
    if arrow:
        output = rhs.replace("...", ellipsis)
    else:
        counts = {c: "".join(expanded).count(c) for c in set("".join(expanded))}
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis))
    sizes: dict[str, int] = {}
    for s, t in zip(expanded, tensors):
        for c, n in zip(s, t.shape):
            if sizes.setdefault(c, n) != n and n != 1 and sizes[c] != 1:
                raise ValueError(f"einsum: subscript {c!r} has size {sizes[c]} in one operand and {n} in another")
            sizes[c] = max(sizes[c], n)
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = dtypes.promote(dtype, t.dtype)
    tensors = [t.to(dtype) for t in tensors]
    return Einsum.apply(*tensors, inputs=tuple(expanded), output=output, sizes=sizes)


# ---- compositions of the products above -----------------------------------------------------


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``: mat1 ``(n, m)``, mat2 ``(m, p)``, input broadcasting
    to ``(n, p)``. With ``beta = 0``, ``input`` is ignored (NaN in it does not propagate)."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` per batch: ``(b, n, m) @ (b, m, p)``, input
    broadcasting to ``(b, n, p)``."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``: mat ``(n, m)``, vec ``(m,)``, input broadcasting to ``(n,)``."""
    if mat.ndim != 2 or vec.ndim != 1:
        raise ValueError(f"addmv: expected a matrix and a vector, got shapes {tuple(mat.shape)} and {tuple(vec.shape)}")
    return _scaled_sum(input, matmul(mat, vec), beta, alpha)


def _scaled_sum(input: Tensor, product: Tensor, beta: float, alpha: float) -> Tensor:
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:  # input only shapes the result
        return scaled.expand(tuple(np.broadcast_shapes(tuple(input.shape), tuple(scaled.shape))))
    return scaled + (input if beta == 1 else input * beta)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum over the last ``dims`` dims of ``a`` and the first ``dims`` of ``b`` (an int), or over the
    listed dims ``([a dims], [b dims])``: the result has ``a``'s other dims, then ``b``'s."""
    if isinstance(dims, int):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims must be in [0, {min(a.ndim, b.ndim)}], got {dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a = [d % a.ndim for d in dims_a]
    dims_b = [d % b.ndim for d in dims_b]
    if len(dims_a) != len(dims_b) or any(a.shape[i] != b.shape[j] for i, j in zip(dims_a, dims_b)):
        raise ValueError(f"tensordot: contracted dims {dims_a} of {tuple(a.shape)} and {dims_b} of "
                         f"{tuple(b.shape)} must pair up with equal sizes")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    size = 1
    for d in dims_a:
        size *= a.shape[d]
    left = a.permute(*free_a, *dims_a).reshape(-1, size)
    right = b.permute(*dims_b, *free_b).reshape(size, -1)
    return mm(left, right).reshape(*[a.shape[d] for d in free_a], *[b.shape[d] for d in free_b])
