"""Margin and embedding losses (``F.margin_ranking_loss``, ``F.triplet_margin_loss``, ``F.multi_margin_loss``, ...),
with PyTorch's arguments and semantics. Each is a composition of differentiable ops, so first and second derivatives
come from those ops; the soft-margin losses use the softplus form, finite for logits of any magnitude.

``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-sample losses).

    loss = F.triplet_margin_loss(anchor, positive, negative, margin=1.0)    # each (N, D)
    loss = F.multi_margin_loss(scores, labels)                                # scores: (N, C), labels: (N,) int64
"""

from __future__ import annotations

from typing import Any

from ...ops.activation import Softplus
from ...ops.elementwise import clamp, minimum, relu, where
from ...tensor import Tensor
from .distance import check_broadcast, pairwise_distance
from .loss import _as_tensor, _check_reduction, _reduce, _shape


def _softplus(x: Tensor) -> Tensor:
    """``log(1 + exp(x))`` in the form that never overflows (no linear cut-off: exact in float64)."""
    return Softplus.apply(x, 1.0, float("inf"))


def _check_same_ndim(name: str, **tensors: Tensor) -> None:
    if len({t.ndim for t in tensors.values()}) > 1:
        shapes = ", ".join(f"{key} {_shape(t)}" for key, t in tensors.items())
        raise ValueError(f"{name}: {', '.join(tensors)} must have the same number of dims, got shapes {shapes}")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average: Any = None,
                        reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``: target 1 asks for input1 ranked above input2, -1 below.

    input1, input2, target: the same number of dims, broadcastable shapes (usually all (N,)).

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.margin_ranking_loss(md.tensor([2.0, 0.0]), md.tensor([1.0, 1.0]), md.tensor([1.0, 1.0]), margin=0.5)
    tensor(0.75)
    """
    _check_reduction(reduction, "margin_ranking_loss")
    target = _as_tensor(target, input1)
    _check_same_ndim("margin_ranking_loss", input1=input1, input2=input2, target=target)
    check_broadcast(input1, input2, "margin_ranking_loss", ("input1", "input2"))
    check_broadcast(input1 - input2, target, "margin_ranking_loss", ("input1 - input2", "target"))
    return _reduce(clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where target is -1 (input: usually a distance).

    As in PyTorch, a target that is neither 1 nor -1 adds both terms. input, target: broadcastable shapes.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.hinge_embedding_loss(md.tensor([0.3, 0.4]), md.tensor([1.0, -1.0]), reduction="none")
    tensor([0.3, 0.6])
    """
    _check_reduction(reduction, "hinge_embedding_loss")
    target = _as_tensor(target, input)
    check_broadcast(input, target, "hinge_embedding_loss", ("input", "target"))
    margin_term = where(target != 1, clamp(margin - input, min=0.0), 0.0)
    return _reduce(margin_term + where(target != -1, input, 0.0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos(x1, x2) - margin)`` where target is -1.

    ``cos = sum(x1 * x2) / sqrt((||x1||^2 + 1e-12) * (||x2||^2 + 1e-12))`` (PyTorch's eps: a zero vector
    has cosine 0). input1, input2: (N, D) with target (N,), or (D,) with a 0-dim target.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> x = md.tensor([[1.0, 0.0], [1.0, 0.0]])
    >>> F.cosine_embedding_loss(x, md.tensor([[0.0, 1.0], [1.0, 1.0]]), md.tensor([1.0, -1.0]), reduction="none")
    tensor([1.    , 0.7071])
    """
    _check_reduction(reduction, "cosine_embedding_loss")
    target = _as_tensor(target, input1)
    if target.ndim > 1:
        raise ValueError(
            f"cosine_embedding_loss: expected a 0-D or 1-D target (one label per pair), got shape {_shape(target)}"
        )
    expected = target.ndim + 1
    if input1.ndim != expected or input2.ndim != expected:
        raise ValueError(
            f"cosine_embedding_loss: a {target.ndim}-D target expects {expected}-D inputs, got input1 of shape "
            f"{_shape(input1)} and input2 of shape {_shape(input2)}"
        )
    check_broadcast(input1, input2, "cosine_embedding_loss", ("input1", "input2"))
    dim = target.ndim
    products = (input1 * input2).sum(dim)
    squares = ((input1 * input1).sum(dim) + 1e-12) * ((input2 * input2).sum(dim) + 1e-12)
    cosine = products / squares.sqrt()
    check_broadcast(cosine, target, "cosine_embedding_loss", ("the cosines", "target"))
    losses = where(target == 1, 1 - cosine, 0.0) + where(target == -1, clamp(cosine - margin, min=0.0), 0.0)
    return _reduce(losses, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))``, d = ``pairwise_distance(.., p, eps)``.

    swap: use ``min(d(anchor, negative), d(positive, negative))`` as the negative distance (the
    "distance swap" of Balntas et al.). anchor, positive, negative: (N, D) or (D,), the same number of dims.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> a, p, n = md.tensor([[0.0, 0.0]]), md.tensor([[0.0, 1.0]]), md.tensor([[1.5, 0.0]])
    >>> F.triplet_margin_loss(a, p, n, eps=0.0)      # 1 + 1 - 1.5
    tensor(0.5)
    """
    _check_reduction(reduction, "triplet_margin_loss")
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    _check_same_ndim("triplet_margin_loss", anchor=anchor, positive=positive, negative=negative)
    positive_distance = pairwise_distance(anchor, positive, p, eps)
    negative_distance = pairwise_distance(anchor, negative, p, eps)
    if swap:
        negative_distance = minimum(negative_distance, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp(margin + positive_distance - negative_distance, min=0.0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """Two-class logistic loss ``log(1 + exp(-target * input))`` for targets 1 or -1, in the stable softplus form.

    input, target: broadcastable shapes (usually equal); 'mean' averages over all elements.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.soft_margin_loss(md.tensor([0.0, 1000.0]), md.tensor([1.0, -1.0]), reduction="none")
    tensor([6.9315e-01, 1.0000e+03])
    """
    _check_reduction(reduction, "soft_margin_loss")
    target = _as_tensor(target, input)
    check_broadcast(input, target, "soft_margin_loss", ("input", "target"))
    return _reduce(_softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """One logistic loss per class, averaged over the C classes of the last dim, for multi-label targets in {0, 1}.

    ``mean_c w[c] * (target * softplus(-input) + (1 - target) * softplus(input))``, i.e.
    ``-w * (y log sigmoid(x) + (1 - y) log sigmoid(-x))`` in a form that never overflows.
    input: (N, C) or (C,). target: the same shape. weight: (C,), or broadcastable to the input -> (N,) with 'none'.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.multilabel_soft_margin_loss(md.zeros(2, 3), md.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))   # log(2)
    tensor(0.6931)
    """
    _check_reduction(reduction, "multilabel_soft_margin_loss")
    if input.ndim == 0:
        raise ValueError("multilabel_soft_margin_loss: expected input (N, C) or (C,), got a 0-dim tensor")
    target = _as_tensor(target, input)
    check_broadcast(input, target, "multilabel_soft_margin_loss", ("input", "target"))
    losses = target * _softplus(-input) + (1 - target) * _softplus(input)
    if weight is not None:
        check_broadcast(losses, weight, "multilabel_soft_margin_loss", ("input", "weight"))
        losses = losses * weight
    return _reduce(losses.sum(-1) / input.shape[-1], reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{j != y} w[y] * max(0, margin - x[y] + x[j])^p / C`` per sample.

    input: (N, C) scores, or (C,). target: (N,) int64 class indices (a 0-dim or (1,) one for (C,) input).
    p: 1 or 2. weight: (C,) per-class weights, taken at each sample's target class.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.multi_margin_loss(md.tensor([[0.1, 0.2, 0.4, 0.8]]), md.tensor([3]))    # (0.3 + 0.4 + 0.6) / 4
    tensor(0.325)
    """
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got p={p!r}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"multi_margin_loss: target must be an integer tensor of class indices, got {target.dtype}")
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise ValueError(f"multi_margin_loss: expected input (N, C) or (C,) with C > 0, got shape {_shape(input)}")
    scores = input.reshape(-1, input.shape[-1]) if input.ndim else input.reshape(1, 1)
    samples, classes = scores.shape
    if (input.ndim == 2 and _shape(target) != (samples,)) or (input.ndim < 2 and target.numel() != 1) \
            or target.ndim > 1:
        raise ValueError(
            f"multi_margin_loss: target must hold one class index per sample, shape ({samples},), got shape "
            f"{_shape(target)} for input of shape {_shape(input)}"
        )
    if weight is not None and _shape(weight) != (classes,):
        raise ValueError(
            f"multi_margin_loss: weight must have shape ({classes},) (one per class), got {_shape(weight)}"
        )
    labels = target._data.reshape(-1)
    if labels.size and bool(((labels < 0) | (labels >= classes)).any()):
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise IndexError(f"multi_margin_loss: target {int(bad)} is out of bounds for {classes} classes")
    xp = input._xp()
    target_score = scores.gather(1, Tensor._make(labels[:, None]))
    # relu, not clamp: as in PyTorch, a term exactly at the margin passes no gradient.
    hinge = relu(margin - target_score + scores)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.gather(0, Tensor._make(labels)).unsqueeze(1)
    others = Tensor._make((xp.arange(classes)[None, :] != labels[:, None]).astype(input.dtype))
    losses = (hinge * others).sum(1) / classes
    return _reduce(losses.reshape(_shape(target)), reduction)

