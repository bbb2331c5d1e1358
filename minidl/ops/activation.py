"""Activation functions, dropout and the linear layer's affine map, as single Ops.

Each forward runs on arrays in the input's dtype (no float64 temporaries); each backward is
written with Tensor operations on the saved input, so second derivatives work too. Piecewise
functions are computed with ``maximum``/``minimum`` and 0/1 masks rather than ``where``, whose
unpredictable branches make NumPy several times slower::

    y = LeakyReLU.apply(x, 0.2)     # what F.leaky_relu(x, 0.2) calls
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd.function import Op
from ..autograd.grad_mode import _GradMode
from ..backend import array_module
from ..tensor import Tensor
from . import cpu_kernels

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
INV_SQRT_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def erf(xp: Any, x: Any) -> Any:
    """The error function: exact to rounding on NumPy arrays with numba (``cpu_kernels.erf``, the C
    library's) and on CuPy (``cupyx.scipy.special.erf``); otherwise to a relative error below
    1.2e-7 (Numerical Recipes' ``erfcc``, which needs only ``exp``).
    """
    if cpu_kernels.enabled_for(x) and x.dtype.kind == "f":
        return cpu_kernels.erf(x)
    if xp is not np:
        try:
            from cupyx.scipy.special import erf as device_erf
        except ImportError:
            device_erf = None
        if device_erf is not None:
            return device_erf(x).astype(x.dtype, copy=False)
    z = xp.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * xp.exp(poly)
    return xp.where(x >= 0, 1 - erfc, erfc - 1).astype(x.dtype, copy=False)


def sigmoid_by_tanh(xp: Any, x: Any) -> Any:
    """sigmoid(x) = (1 + tanh(x / 2)) / 2: never overflows, and needs no ``where``."""
    half = x.dtype.type(0.5)
    out = xp.tanh(x * half)
    out += 1
    out *= half
    return out


class LeakyReLU(Op):
    """``x`` where ``x > 0``, else ``negative_slope * x``."""

    op_name = "leaky_relu"

    @staticmethod
    def forward(ctx, x, negative_slope):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        scaled = xp.multiply(x, x.dtype.type(negative_slope), out=xp.empty_like(x))  # an array even when 0-d
        # slope <= 1: x >= slope * x exactly where x >= 0, so the max picks the right branch
        return xp.maximum(x, scaled, out=scaled) if negative_slope <= 1 else xp.minimum(x, scaled, out=scaled)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = ctx.negative_slope
        if not _GradMode.enabled and cpu_kernels.applies_elementwise(grad._data, x._data):
            return Tensor._make(cpu_kernels.leaky_relu_backward(grad._data, x._data, slope)), None  # one pass
        derivative = _positive_mask(x)  # 1 where x > 0, else slope: constant in x
        derivative *= derivative.dtype.type(1 - slope)
        derivative += derivative.dtype.type(slope)
        return grad * Tensor._make(derivative), None


class ELU(Op):
    """``scale * x`` where ``x > 0``, else ``scale * alpha * (exp(x) - 1)`` (SELU is ELU with fixed alpha, scale)."""

    op_name = "elu"

    @staticmethod
    def forward(ctx, x, alpha, scale):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.alpha, ctx.scale = alpha, scale
        out = xp.expm1(xp.minimum(x, 0)) * x.dtype.type(alpha * scale)  # 0 where x > 0
        out += xp.maximum(x, 0) * x.dtype.type(scale)                    # 0 where x <= 0
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        positive = Tensor._make(_positive_mask(x))
        negative_part = x.clamp(max=0).exp() * (1 - positive) * (ctx.alpha * ctx.scale)
        return grad * (positive * ctx.scale + negative_part), None, None


class GELU(Op):
    """``x * Phi(x)`` with the normal CDF Phi, exactly (``'none'``) or by the tanh formula (``'tanh'``)."""

    op_name = "gelu"

    @staticmethod
    def forward(ctx, x, approximate):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + xp.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        return 0.5 * x * (1 + erf(xp, x * INV_SQRT_2))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            t = inner.tanh()
            derivative = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        else:
            derivative = NormalCdf.apply(x) + x * (-0.5 * x * x).exp() * INV_SQRT_2PI
        return grad * derivative, None


class NormalCdf(Op):
    """Phi(x), the normal CDF: the differentiable piece of GELU's derivative (for second derivatives)."""

    op_name = "normal_cdf"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (1 + erf(array_module(x), x * INV_SQRT_2))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-0.5 * x * x).exp() * INV_SQRT_2PI


class SiLU(Op):
    """``x * sigmoid(x)``."""

    op_name = "silu"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * sigmoid_by_tanh(array_module(x), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * s * (1 + x * (1 - s))


class Softplus(Op):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""

    op_name = "softplus"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = array_module(x)
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        scaled = x * x.dtype.type(beta)
        # log1p(exp(-|z|)) + max(z, 0) never overflows.
        soft = (xp.log1p(xp.exp(-xp.abs(scaled))) + xp.maximum(scaled, 0)) / x.dtype.type(beta)
        linear = scaled > threshold
        if linear.any():  # rare: only then pay for the masked copy
            soft[linear] = x[linear]
        return soft

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        scaled = x * ctx.beta
        linear = Tensor._make((scaled._data > ctx.threshold).astype(x.dtype))
        return grad * (linear + (1 - linear) * scaled.sigmoid()), None, None


class Hardtanh(Op):
    """``x`` clipped to ``[min_val, max_val]``; the gradient is zero outside (and at) the bounds' far side."""

    op_name = "hardtanh"

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        return array_module(x).clip(x, min_val, max_val).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        inside = (x._data > low) & (x._data < high)
        return grad * Tensor._make(inside.astype(x.dtype)), None, None


def _positive_mask(x: Tensor) -> Any:
    """1.0 where x > 0, else 0.0, as an array of x's dtype."""
    return (x._data > 0).astype(x.dtype)


class Dropout(Op):
    """``x * mask``, where ``mask`` holds ``1 / keep`` with probability ``keep`` and 0 otherwise.

    mask: drawn by the caller (float32 or the input's dtype), broadcastable to x (Dropout2d
    passes one value per channel).
    """

    op_name = "dropout"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


class Linear(Op):
    """``x @ weight.T + bias`` in one Op: x (..., in), weight (out, in), bias (out,) or None -> (..., out)."""

    op_name = "linear"

    @staticmethod
    def forward(ctx, x, weight, bias):
        needs_x, needs_weight, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if needs_weight else None, weight if needs_x else None)
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad
        grad_x = grad @ weight if needs_x else None
        grad_weight = grad_bias = None
        if needs_weight or needs_bias:
            flat = grad.reshape(-1, grad.shape[-1])
            if needs_weight:
                grad_weight = flat.mT @ x.reshape(-1, x.shape[-1])
            if needs_bias:
                grad_bias = flat.sum(0)
        return grad_x, grad_weight, grad_bias
