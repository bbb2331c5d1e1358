"""Cross-entropy with class-index targets and BCE-with-logits, each as one numerically stable Op.

Cross-entropy goes through log-softmax with the max subtracted; BCE-with-logits through the
softplus form ``max(-x, 0) + log1p(exp(-|x|))``; so logits of magnitude 1e4 give finite losses
and gradients. Both backwards are written with Tensor operations on the saved input; when a
graph of the gradient is being built (``create_graph=True``) the softmax/sigmoid is recomputed
from the input with differentiable ops, otherwise the forward's array is reused.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import _GradMode
from ..backend import array_module
from ..tensor import Tensor


def _exp_of_negative(values):
    """exp(-values) on the values' array module."""
    return array_module(values).exp(-values)


def _reduce(losses, reduction, denominator):
    if reduction == "none":
        return losses
    total = losses.sum(dtype=losses.dtype)
    return total / losses.dtype.type(denominator) if reduction == "mean" else total


class CrossEntropy(Op):
    """Cross-entropy of logits ``x: (N, C, *d)`` against class indices ``target: (N, *d)``.

    Per element: ``w[t] * -(1 - s) * logp[t]  +  (s / C) * -sum_c w[c] * logp[c]`` (s the label
    smoothing, w the class weights, elements whose target is ``ignore_index`` count 0); 'mean'
    divides by the summed weights of the counted elements, as PyTorch does.
    """

    op_name = "cross_entropy"

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        xp = array_module(x)
        classes = x.shape[1]
        shifted = x - x.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        logp = shifted - xp.log(sum_exp)
        valid = target != ignore_index
        safe_target = xp.where(valid, target, 0)[:, None]
        # coefficients q[n, c] with loss = sum_c q[n, c] * logp[n, c]: -(1-s) w[t] at the target, -(s/C) w[c] everywhere
        target_weight = valid.astype(x.dtype) if weight is None else weight[safe_target[:, 0]] * valid
        class_shape = (1, classes) + (1,) * (x.ndim - 2)
        is_target = xp.arange(classes).reshape(class_shape) == safe_target
        coefficients = is_target * (-(1 - label_smoothing) * target_weight[:, None]).astype(x.dtype, copy=False)
        if label_smoothing > 0:
            class_weight = 1 if weight is None else weight.reshape(class_shape)
            coefficients -= (label_smoothing / classes) * class_weight * valid[:, None]
        losses = (coefficients * logp).sum(axis=1)
        denominator = target_weight.sum()
        ctx.save_for_backward(x)
        ctx.coefficients, ctx.probabilities = coefficients, exp / sum_exp
        ctx.scale = 1 / denominator if reduction == "mean" else 1
        return _reduce(losses, reduction, denominator)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        probabilities = x.softmax(1) if _GradMode.enabled else Tensor._make(ctx.probabilities)
        coefficients = Tensor._make(ctx.coefficients)
        # d/dx of sum_c q_c * log_softmax(x)_c  =  q - softmax(x) * sum_c q_c
        local = coefficients - probabilities * coefficients.sum(1, keepdim=True)
        if grad.ndim:
            grad = grad.unsqueeze(1)
        return local * (grad * ctx.scale), None, None, None, None, None


class BinaryCrossEntropyWithLogits(Op):
    """``-w * [pos_weight * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x))]``, elementwise, stably.

    x, target: the same shape; weight, pos_weight: broadcastable to it (pos_weight along the last dim).
    """

    op_name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx, x, target, weight, pos_weight, reduction):
        xp = array_module(x)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-xp.abs(x)))  # -log(sigmoid(x))
        if pos_weight is None:
            losses = (1 - target) * x + softplus_neg
        else:
            losses = (1 - target) * x + (1 + (pos_weight - 1) * target) * softplus_neg
        if weight is not None:
            losses = losses * weight
        losses = losses.astype(x.dtype, copy=False)
        ctx.save_for_backward(x, target, weight, pos_weight)
        ctx.softplus_neg, ctx.reduction, ctx.count = softplus_neg, reduction, x.size
        return _reduce(losses, reduction, x.size)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, pos_weight = ctx.saved_tensors
        needs_x, needs_target = ctx.needs_input_grad[:2]
        if ctx.reduction == "mean":
            grad = grad / ctx.count
        if weight is not None:
            grad = grad * weight
        grad_x = grad_target = None
        if needs_x:
            # sigmoid(x) = exp(-softplus(-x)): exact, and one pass over the saved array
            sigmoid = x.sigmoid() if _GradMode.enabled else Tensor._make(_exp_of_negative(ctx.softplus_neg))
            if pos_weight is None:
                grad_x = grad * (sigmoid - target)
            else:
                grad_x = grad * ((1 - target) - (1 + (pos_weight - 1) * target) * (1 - sigmoid))
        if needs_target:
            softplus_neg = (-x).relu() + (-x.abs()).exp().log1p() if _GradMode.enabled \
                else Tensor._make(ctx.softplus_neg)
            grad_target = -x if pos_weight is None else -x + (pos_weight - 1) * softplus_neg
            grad_target = grad * grad_target
        return grad_x, grad_target, None, None, None


class BinaryCrossEntropy(Op):
    """``-w * [y * log(x) + (1 - y) * log(1 - x)]`` for probabilities x, each log clamped at -100.

    The gradient is PyTorch's ``w * (x - y) / max(x * (1 - x), 1e-12)``: finite even where x is
    exactly 0 or 1 (a saturated float32 sigmoid).
    """

    op_name = "binary_cross_entropy"

    @staticmethod
    def forward(ctx, x, target, weight, reduction):
        xp = array_module(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf, clamped just below
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        losses = -(target * log_x + (1 - target) * log_1mx)
        if weight is not None:
            losses = losses * weight
        ctx.save_for_backward(x, target, weight)
        ctx.log_ratio, ctx.reduction, ctx.count = log_x - log_1mx, reduction, x.size
        return _reduce(losses.astype(x.dtype, copy=False), reduction, x.size)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight = ctx.saved_tensors
        needs_x, needs_target = ctx.needs_input_grad[:2]
        if ctx.reduction == "mean":
            grad = grad / ctx.count
        if weight is not None:
            grad = grad * weight
        grad_x = grad * (x - target) / (x * (1 - x)).clamp(min=1e-12) if needs_x else None
        grad_target = -grad * Tensor._make(ctx.log_ratio) if needs_target else None
        return grad_x, grad_target, None, None
