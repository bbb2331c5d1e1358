"""Loss functions (``F.cross_entropy``, ``F.mse_loss``, ...), with PyTorch's arguments and semantics.

``reduction`` is ``'mean'`` (default), ``'sum'`` or ``'none'`` (the per-element losses).

    loss = F.cross_entropy(logits, labels)        # logits: (N, C) float, labels: (N,) int64
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ...ops.elementwise import where
from ...ops.loss import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CrossEntropy
from ...ops.normalization import channel_shape
from ...ops.reduction import log_softmax
from ...tensor import Tensor
from .distance import check_broadcast

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return Tensor._make(like._xp().asarray(value, dtype=like.dtype))


def _check_class_input(input: Tensor, target: Tensor, weight: Tensor | None, name: str) -> tuple[Tensor, Tensor, bool]:
    """Validate ``input (N, C, *d)`` against class indices ``target (N, *d)``; unbatched (C,) becomes (1, C)."""
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class-index targets must be an integer tensor, got {target.dtype}; use .long(), or pass "
            "class probabilities as a float tensor of the input's shape"
        )
    if input.ndim < 2 or _shape(target) != (input.shape[0],) + _shape(input)[2:]:
        raise ValueError(
            f"{name}: expected input (N, C, *d) and target (N, *d), got input of shape {_shape(input)} and "
            f"target of shape {_shape(target)}"
        )
    if weight is not None and _shape(weight) != (input.shape[1],):
        raise ValueError(f"{name}: weight must have shape ({input.shape[1]},) (one per class), got {_shape(weight)}")
    return input, target, unbatched


def _check_targets_in_range(target: Tensor, classes: int, ignore_index: int, name: str) -> None:
    values = target._data
    bad = ((values < 0) | (values >= classes)) & (values != ignore_index)
    if values.size and bool(bad.any()):
        raise IndexError(
            f"{name}: target {int(values[bad].reshape(-1)[0])} is out of bounds for {classes} classes "
            f"(valid: 0..{classes - 1}, or ignore_index={ignore_index})"
        )


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and targets, through a stable log-softmax.

    input: (N, C, *d) or (C,) logits. target: class indices (N, *d) int64, or class probabilities
    of the input's shape. weight: (C,) class weights; 'mean' with class indices divides by the
    summed weights of the non-ignored targets, as PyTorch does.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.cross_entropy(md.zeros(4, 3), md.tensor([0, 2, 1, 1]))    # equal logits: log(3) per sample
    tensor(1.0986)
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target.dtype.kind == "f":
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing)
    input, target, unbatched = _check_class_input(input, target, weight, "cross_entropy")
    _check_targets_in_range(target, input.shape[1], ignore_index, "cross_entropy")
    weight_array = None if weight is None else weight._data.astype(input.dtype, copy=False)
    loss = CrossEntropy.apply(input, target._data, weight_array, ignore_index, label_smoothing, reduction)
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def _cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                                 label_smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities: ``-sum_c w[c] * target[c] * log_softmax(input)[c]``."""
    if _shape(input) != _shape(target):
        raise ValueError(
            f"cross_entropy: probability targets must have the input's shape {_shape(input)}, got {_shape(target)}"
        )
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    products = log_softmax(input, class_dim) * target
    if weight is not None:
        products = products * (weight if input.ndim == 1 else weight.reshape(channel_shape(input.ndim, classes)))
    losses = -products.sum(class_dim)
    return _reduce(losses, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input (N, C, *d)`` at class indices ``target (N, *d)``.

    'mean' divides by the summed class weights of the non-ignored targets.
    """
    _check_reduction(reduction, "nll_loss")
    input, target, unbatched = _check_class_input(input, target, weight, "nll_loss")
    _check_targets_in_range(target, input.shape[1], ignore_index, "nll_loss")
    xp = input._xp()
    valid = target._data != ignore_index
    safe_target = xp.where(valid, target._data, 0)
    picked = input.gather(1, Tensor._make(safe_target[:, None])).squeeze(1)
    if weight is None:
        target_weight = Tensor._make(valid.astype(input.dtype))
    else:
        target_weight = Tensor._make(weight._data.astype(input.dtype, copy=False)[safe_target] * valid)
    losses = -picked * target_weight
    if reduction == "mean":
        return losses.sum() / target_weight.sum()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed from the logits in the softplus form.

    input, target: the same shape. weight: broadcastable per-element weights. pos_weight:
    weight of the positive term, broadcast along the last dim (one per class).
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    if _shape(input) != _shape(target):
        raise ValueError(
            f"binary_cross_entropy_with_logits: target of shape {_shape(target)} must have the input's shape "
            f"{_shape(input)}"
        )
    return BinaryCrossEntropyWithLogits.apply(input, _as_tensor(target, input), weight, pos_weight, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """``-w * [y * log(x) + (1 - y) * log(1 - x)]`` for probabilities x in [0, 1]; each log clamped at -100.

    Prefer ``binary_cross_entropy_with_logits`` on logits: it is stable where this saturates.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    if _shape(input) != _shape(target):
        raise ValueError(
            f"binary_cross_entropy: target of shape {_shape(target)} must have the input's shape {_shape(input)}"
        )
    values = input._data
    if values.size and (bool((values < 0).any()) or bool((values > 1).any())):
        raise ValueError(
            "binary_cross_entropy: all elements of input should be between 0 and 1 (probabilities); "
            "for logits use binary_cross_entropy_with_logits"
        )
    return BinaryCrossEntropy.apply(input, _as_tensor(target, input), weight, reduction)


def _pointwise(input: Tensor, target: Tensor, name: str) -> Tensor:
    target = _as_tensor(target, input)
    if _shape(input) != _shape(target):
        warnings.warn(
            f"{name}: target of shape {_shape(target)} differs from the input's shape {_shape(input)}; they are "
            "broadcast, which is likely not what you want (e.g. (N, 1) against (N,))",
            stacklevel=3,
        )
    return input - target


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target)^2``, averaged (or summed) over all elements."""
    _check_reduction(reduction, "mse_loss")
    difference = _pointwise(input, target, "mse_loss")
    return _reduce(difference * difference, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|``."""
    _check_reduction(reduction, "l1_loss")
    return _reduce(_pointwise(input, target, "l1_loss").abs(), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (d = input - target; beta=0 is L1)."""
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    difference = _pointwise(input, target, "smooth_l1_loss")
    absolute = difference.abs()
    if beta == 0:
        return _reduce(absolute, reduction)
    losses = where(absolute < beta, 0.5 * difference * difference / beta, absolute - 0.5 * beta)
    return _reduce(losses, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 delta)``."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    difference = _pointwise(input, target, "huber_loss")
    absolute = difference.abs()
    losses = where(absolute < delta, 0.5 * difference * difference, delta * (absolute - 0.5 * delta))
    return _reduce(losses, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL divergence ``target * (log(target) - input)``, with ``input`` given as log-probabilities.

    log_target: the target is given as log-probabilities too. reduction 'batchmean' divides the
    sum by the batch size (the mathematically correct KL); 'mean' averages over all elements.
    """
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS + ('batchmean',)}, got {reduction!r}")
    target = _as_tensor(target, input)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        # target * log(target) is 0 where target is 0 (log of 1 there keeps the gradient finite).
        losses = target * where(target > 0, target, 1.0).log() - target * input
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(losses, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under a Poisson distribution of rate ``input`` (up to a constant).

    ``exp(input) - target * input`` with ``log_input`` (input is the log-rate), else
    ``input - target * log(input + eps)``. ``full`` adds Stirling's approximation of ``log(target!)``,
    ``target * log(target) - target + 0.5 * log(2 pi target)``, where target > 1 (0 elsewhere).
    input, target: broadcastable shapes (usually equal) -> that shape with 'none'.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.poisson_nll_loss(md.tensor([0.0, 0.0]), md.tensor([1.0, 3.0]))     # exp(0) - t * 0
    tensor(1.)
    """
    _check_reduction(reduction, "poisson_nll_loss")
    target = _as_tensor(target, input)
    check_broadcast(input, target, "poisson_nll_loss", ("input", "target"))
    if log_input:
        losses = input.exp() - target * input
    else:
        losses = input - target * (input + eps).log()
    if full:
        # Evaluated at 1 where the term is dropped, so that log(0) never enters the gradient.
        above_one = target > 1
        safe = where(above_one, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        losses = losses + where(above_one, stirling, 0.0)
    return _reduce(losses, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under a Gaussian of mean ``input`` and variance ``var``.

    ``0.5 * (log(max(var, eps)) + (input - target)^2 / max(var, eps))``, plus ``0.5 * log(2 pi)`` with
    ``full``. The clamp at ``eps`` does not cut the gradient of ``var`` (as in PyTorch).
    input: (N, *) and target broadcastable to it. var: a non-negative number, or a tensor of the input's
    shape (one variance per prediction), of that shape without its last dim, or of it with exactly one
    dim of size 1 (a variance shared along that dim).

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.gaussian_nll_loss(md.tensor([[1.0, 2.0]]), md.tensor([[1.0, 4.0]]), md.tensor([1.0]))
    tensor(1.)
    """
    _check_reduction(reduction, "gaussian_nll_loss")
    target = _as_tensor(target, input)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var must be non-negative, got {var}")
        var = Tensor._make(input._xp().full(_shape(input), var, dtype=input.dtype))
    elif not isinstance(var, Tensor):
        raise TypeError(f"gaussian_nll_loss: var must be a tensor or a number, got {type(var).__name__}")
    elif var._data.size and bool((var._data < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entries; variances must be non-negative")
    var = _homoscedastic_var(input, var)
    check_broadcast(input, target, "gaussian_nll_loss", ("input", "target"))
    constant = var.detach()
    var = var + (constant.clamp(min=eps) - constant)
    difference = input - target
    losses = 0.5 * (var.log() + difference * difference / var)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce(losses, reduction)


def _homoscedastic_var(input: Tensor, var: Tensor) -> Tensor:
    """``var`` shaped to broadcast against ``input`` under PyTorch's rules (see gaussian_nll_loss)."""
    if _shape(var) == _shape(input):
        return var
    if _shape(var) == _shape(input)[:-1]:
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(v for i, v in zip(_shape(input), _shape(var)) if i != v) == 1:
        return var
    raise ValueError(
        f"gaussian_nll_loss: var of shape {_shape(var)} does not fit input of shape {_shape(input)}: expected "
        "the input's shape, that shape without its last dim, or the input's shape with exactly one dim of size 1"
    )

