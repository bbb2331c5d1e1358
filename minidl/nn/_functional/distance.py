"""Distances and similarities between vectors (``F.normalize``, ``F.cosine_similarity``, ``F.pairwise_distance``),
with PyTorch's arguments, eps rules and broadcasting. All are compositions of differentiable ops, so first and
second derivatives come from those ops.

    unit = F.normalize(x, dim=1)                      # x: (N, D) -> rows of norm 1
    similarity = F.cosine_similarity(a, b, dim=1)     # a, b: (N, D) -> (N,)
    distance = F.pairwise_distance(a, b, p=2.0)       # a, b: (N, D) -> (N,)
"""

from __future__ import annotations

import numbers

import numpy as np

from ...ops.elementwise import clamp
from ...ops.reduction import norm
from ...tensor import Tensor


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def check_broadcast(x1: Tensor, x2: Tensor, name: str, names: tuple[str, str] = ("x1", "x2")) -> tuple[int, ...]:
    """The shape ``x1`` and ``x2`` broadcast to; a ValueError naming ``name`` when they do not broadcast."""
    try:
        return tuple(np.broadcast_shapes(_shape(x1), _shape(x2)))
    except ValueError:
        raise ValueError(
            f"{name}: {names[0]} of shape {_shape(x1)} and {names[1]} of shape {_shape(x2)} do not broadcast "
            "(each dim must be equal, or 1 in one of them)"
        ) from None


def check_norm_order(p: float, name: str) -> float:
    """``p`` of a vector p-norm: a real number (inf and, as in PyTorch, 0 and negative values included)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name}: p must be a real number (the order of the p-norm), got {p!r}")
    return float(p)


def _clamped_without_gradient(value: Tensor, min: float) -> Tensor:
    """``value`` clamped below at ``min``, with the gradient of ``value`` itself (PyTorch's no-grad clamp_)."""
    constant = value.detach()
    return value + (clamp(constant, min=min) - constant)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``: each slice scaled to unit p-norm (zero slices stay zero).

    input: any shape with ``dim`` in it -> the same shape.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.normalize(md.tensor([[3.0, 4.0], [0.0, 0.0]]))
    tensor([[0.6, 0.8],
            [0. , 0. ]])
    """
    p = check_norm_order(p, "normalize")
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim``, after broadcasting them together.

    ``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` over ``dim``: each norm is clamped on its own
    (PyTorch's rule), so a zero vector gives 0, and, as in PyTorch, the clamp does not cut the gradient
    of the norm. x1, x2: broadcastable shapes -> their broadcast shape without ``dim``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.cosine_similarity(md.tensor([[1.0, 0.0], [1.0, 1.0]]), md.tensor([[0.0, 2.0], [3.0, 3.0]]))
    tensor([0., 1.])
    """
    shape = check_broadcast(x1, x2, "cosine_similarity")
    if not -max(len(shape), 1) <= dim < max(len(shape), 1):
        raise IndexError(
            f"cosine_similarity: dim {dim} is out of range for inputs broadcast to shape {shape} "
            f"(expected a value in [{-max(len(shape), 1)}, {max(len(shape), 1) - 1}])"
        )
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    # Each vector is divided by its own norm first: the result then stays within [-1, 1].
    norm1 = _clamped_without_gradient(norm(x1, 2, dim, keepdim=True), eps)
    norm2 = _clamped_without_gradient(norm(x2, 2, dim, keepdim=True), eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim of the broadcast shape (eps keeps the gradient finite at x1 == x2).

    x1, x2: (N, D), (D,) or any broadcastable pair -> (N,) (``keepdim``: (N, 1)).

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.pairwise_distance(md.tensor([[0.0, 0.0], [1.0, 1.0]]), md.tensor([3.0, 4.0]), eps=0.0)
    tensor([5.    , 3.6056])
    """
    p = check_norm_order(p, "pairwise_distance")
    check_broadcast(x1, x2, "pairwise_distance")
    return norm(x1 - x2 + eps, p, -1, keepdim=keepdim)
