"""Compiled CPU kernels (numba) for the loops that NumPy can only do in many passes.

Each kernel has a NumPy twin beside the op that calls it; the twin is what runs on CuPy arrays,
when numba is not installed, or with ``MINIDL_NUMBA=0``. ``enabled_for(x)`` says whether the
compiled kernel applies to an array (a NumPy array, numba present); the tests run both paths.

* ``col2im_channels_last(columns, size, ...)``: columns ``(N, Ho, Wo, kh, kw, C)`` summed into
  ``(N, H, W, C)``: one pass, the channel loop innermost and contiguous, instead of ``kh*kw``
  strided additions over a padded copy.

* ``lstm_cell_backward(...)``: one step of the LSTM's backward (the gradients of the four gate
  pre-activations and of the cell state) in one pass, instead of a dozen NumPy calls on
  ``(B, H)`` slices whose call overhead outweighs their arithmetic.

* ``batch_norm_forward(x, ...)`` / ``batch_norm_backward(grad, x_hat, ...)``: training-mode batch
  norm of ``(N, C, *spatial)`` and its closed-form backward, per channel in two passes over the data
  (statistics, then the output); NumPy needs a dozen passes with their temporaries. (``(N, C)``
  inputs stay with NumPy, whose column sums are faster there.)

* ``max_pool_2x2(x)`` / ``max_pool_2x2_backward(grad, offsets, size)``: max pooling over disjoint
  2x2 windows, values and argmax offsets in one pass over the input (NumPy makes three passes each
  of ``maximum``, ``greater`` and ``where`` over strided slices), and its gradient in one pass of
  writes. Only this geometry, the common one: a kernel looping over general windows (padding,
  dilation, any size) ran slower than the NumPy code, its short variable-length loops and
  unpredictable compare branches costing more than the passes they save.

* ``adam_update(param, grad, exp_avg, exp_avg_sq, ...)``: one Adam (or AMSGrad) step on a
  parameter and its moments in one pass, where NumPy makes eleven, each over the whole parameter.

* ``erf(x)``: the error function (GELU's normal CDF) from the C library, exact to rounding;
  NumPy has no ``erf``, and the exp-only formula that serves CuPy-less fallbacks is good to 1.2e-7.

* ``relu_backward(grad, y)`` / ``leaky_relu_backward(grad, x, slope)``: the gradient through
  (leaky) ReLU in one pass, where NumPy makes a mask, converts it and multiplies (3 to 5 passes).

The kernels run on one thread. (Compiled with numba's ``parallel=True`` they split the batch across
threads, but numba's OpenMP pool, spinning beside OpenBLAS's threads on the same cores, made W1's
2-thread training step 5x slower, 94 ms against 16: measured, and dropped.)

The kernels are compiled on first use (a second or two per dtype) and cached on disk
(``cache=True``: in ``__pycache__`` beside this file, or numba's per-user cache where that is
read-only; ``NUMBA_CACHE_DIR`` moves it).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

try:
    if os.environ.get("MINIDL_NUMBA", "1") == "0":
        raise ImportError("MINIDL_NUMBA=0")
    from numba import njit
except ImportError:
    njit = None

ENABLED = njit is not None


def enabled_for(array: Any) -> bool:
    """True when ``array`` is a NumPy array and the compiled kernels are in use."""
    return ENABLED and type(array) is np.ndarray


def _col2im_channels_last(columns, height, width, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w):
    n, out_h, out_w, kernel_h, kernel_w, channels = columns.shape
    out = np.zeros((n, height, width, channels), dtype=columns.dtype)
    for b in range(n):
        for oh in range(out_h):
            for i in range(kernel_h):
                ih = oh * stride_h + i * dilation_h - pad_top
                if ih < 0 or ih >= height:
                    continue
                for ow in range(out_w):
                    for j in range(kernel_w):
                        iw = ow * stride_w + j * dilation_w - pad_left
                        if iw < 0 or iw >= width:
                            continue
                        for c in range(channels):
                            out[b, ih, iw, c] += columns[b, oh, ow, i, j, c]
    return out


def _lstm_cell_backward(d_h, grad_output, gates, tanh_c, c_prev, d_c, d_gates):
    batch, hidden = d_h.shape
    for b in range(batch):
        for j in range(hidden):
            dh = d_h[b, j] + grad_output[b, j]
            i, f, g, o = gates[b, j], gates[b, hidden + j], gates[b, 2 * hidden + j], gates[b, 3 * hidden + j]
            t = tanh_c[b, j]
            dc = d_c[b, j] + dh * o * (1 - t * t)
            d_gates[b, j] = dc * g * i * (1 - i)
            d_gates[b, hidden + j] = dc * c_prev[b, j] * f * (1 - f)
            d_gates[b, 2 * hidden + j] = dc * i * (1 - g * g)
            d_gates[b, 3 * hidden + j] = dh * t * o * (1 - o)
            d_c[b, j] = dc * f


def _batch_norm_forward(x, weight, bias, eps, x_hat, y, mean, var):
    n, channels, size = x.shape
    count = n * size
    for c in range(channels):
        total = 0.0
        for b in range(n):
            for k in range(size):
                total += x[b, c, k]
        mu = total / count
        squares = 0.0
        for b in range(n):
            for k in range(size):
                d = x[b, c, k] - mu
                squares += d * d
        sigma2 = squares / count
        invstd = 1.0 / np.sqrt(sigma2 + eps)
        for b in range(n):
            for k in range(size):
                normalised = (x[b, c, k] - mu) * invstd
                x_hat[b, c, k] = normalised
                y[b, c, k] = normalised * weight[c] + bias[c]
        mean[c] = mu
        var[c] = sigma2


def _batch_norm_backward(grad, x_hat, scale, grad_x, grad_weight, grad_bias):
    n, channels, size = grad.shape
    count = n * size
    for c in range(channels):
        sum_g = 0.0
        sum_g_xhat = 0.0
        for b in range(n):
            for k in range(size):
                sum_g += grad[b, c, k]
                sum_g_xhat += grad[b, c, k] * x_hat[b, c, k]
        slope = scale[c] * sum_g_xhat / count
        offset = scale[c] * sum_g / count
        for b in range(n):
            for k in range(size):
                grad_x[b, c, k] = grad[b, c, k] * scale[c] - x_hat[b, c, k] * slope - offset
        grad_weight[c] = sum_g_xhat
        grad_bias[c] = sum_g


def _max_pool_2x2(x, values, offsets):
    planes, height, width = x.shape
    out_h, out_w = values.shape[1], values.shape[2]
    for p in range(planes):
        for oh in range(out_h):
            for ow in range(out_w):
                a, b = x[p, 2 * oh, 2 * ow], x[p, 2 * oh, 2 * ow + 1]
                c, d = x[p, 2 * oh + 1, 2 * ow], x[p, 2 * oh + 1, 2 * ow + 1]
                best = max(max(a, b), max(c, d))
                # the first maximum, by selects rather than branches (random data mispredicts them)
                k = 3
                k = 2 if c == best else k
                k = 1 if b == best else k
                k = 0 if a == best else k
                if (a != a) | (b != b) | (c != c) | (d != d):  # PyTorch's rule: the (last) NaN wins
                    best = np.nan
                    k = 3 if d != d else 2 if c != c else 1 if b != b else 0
                values[p, oh, ow] = best
                offsets[p, oh, ow] = k


def _max_pool_2x2_backward(grad, offsets, out):
    planes, out_h, out_w = grad.shape
    for p in range(planes):
        for oh in range(out_h):
            for ow in range(out_w):
                g, k = grad[p, oh, ow], offsets[p, oh, ow]
                out[p, 2 * oh, 2 * ow] = g if k == 0 else 0
                out[p, 2 * oh, 2 * ow + 1] = g if k == 1 else 0
                out[p, 2 * oh + 1, 2 * ow] = g if k == 2 else 0
                out[p, 2 * oh + 1, 2 * ow + 1] = g if k == 3 else 0


def _adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, amsgrad, one_minus_beta1, beta2,
                 one_minus_beta2, bias_correction2_sqrt, eps, step_size):
    for k in range(param.size):
        g = grad[k]
        m = exp_avg[k] + (g - exp_avg[k]) * one_minus_beta1
        v = exp_avg_sq[k] * beta2 + g * g * one_minus_beta2
        exp_avg[k] = m
        exp_avg_sq[k] = v
        if amsgrad:
            best = max_exp_avg_sq[k]
            v = v if v > best or v != v else best  # np.maximum: a NaN wins
            max_exp_avg_sq[k] = v
        param[k] -= m / (np.sqrt(v) / bias_correction2_sqrt + eps) * step_size


def _erf(x, out):
    for k in range(x.size):
        out[k] = math.erf(x[k])


def _relu_backward(grad, y, out):
    for k in range(grad.size):
        out[k] = grad[k] if y[k] > 0 else 0


def _leaky_relu_backward(grad, x, slope, out):
    for k in range(grad.size):
        out[k] = grad[k] if x[k] > 0 else grad[k] * slope


# Sums may be reordered (so that reductions run in SIMD lanes) and multiply-adds fused; the flags
# that assume no NaN or infinity stay off, so a NaN in the data still comes out as a NaN.
REASSOCIATE = {"reassoc", "contract", "nsz"}


def _compile(function: Any, fastmath: Any = False) -> Any:
    """``njit`` with an on-disk cache, or without one where numba finds no writable cache directory.

    ``error_model="numpy"``: a float division by zero gives inf or NaN, as in NumPy, rather than
    raising; without it every division carries a branch that keeps the loop out of SIMD lanes
    (the Adam kernel ran 10x slower)."""
    try:
        return njit(cache=True, fastmath=fastmath, error_model="numpy")(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(fastmath=fastmath, error_model="numpy")(function)


if ENABLED:
    _col2im_channels_last = _compile(_col2im_channels_last)
    _lstm_cell_backward = _compile(_lstm_cell_backward)
    _batch_norm_forward = _compile(_batch_norm_forward, fastmath=REASSOCIATE)
    _batch_norm_backward = _compile(_batch_norm_backward, fastmath=REASSOCIATE)
    _max_pool_2x2 = _compile(_max_pool_2x2)
    _max_pool_2x2_backward = _compile(_max_pool_2x2_backward)
    _adam_update = _compile(_adam_update)
    _erf = _compile(_erf)
    _relu_backward = _compile(_relu_backward)
    _leaky_relu_backward = _compile(_leaky_relu_backward)


def col2im_channels_last(columns: np.ndarray, size: tuple[int, int], stride: tuple[int, int],
                         padding: tuple[int, int, int, int], dilation: tuple[int, int]) -> np.ndarray:
    """``columns (N, Ho, Wo, kh, kw, C)`` -> ``(N, H, W, C)`` with ``size = (H, W)``: element
    ``[n, h, w, i, j, c]`` is added at ``[n, h*sh + i*dh - top, w*sw + j*dw - left, c]`` (dropped in the padding)."""
    return _col2im_channels_last(np.ascontiguousarray(columns), size[0], size[1], stride[0], stride[1],
                                 padding[0], padding[2], dilation[0], dilation[1])


def lstm_cell_backward(d_h: np.ndarray, grad_output: np.ndarray, gates: np.ndarray, tanh_c: np.ndarray,
                       c_prev: np.ndarray, d_c: np.ndarray, d_gates: np.ndarray) -> None:
    """One LSTM step backwards, in place. With ``dh = d_h + grad_output`` and the activated gates
    ``i, f, g, o`` (``gates (B, 4H)``), ``tanh_c = tanh(c_t)``::

        dc = d_c + dh * o * (1 - tanh_c^2)          (then d_c <- dc * f, for step t-1)
        d_gates = [dc*g * i(1-i), dc*c_prev * f(1-f), dc*i * (1-g^2), dh*tanh_c * o(1-o)]

    ``d_h, grad_output, tanh_c, c_prev, d_c``: ``(B, H)``; ``d_gates (B, 4H)`` is written."""
    _lstm_cell_backward(d_h, grad_output, gates, tanh_c, c_prev, d_c, d_gates)


def batch_norm_forward(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                       eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode batch norm of ``x (N, C, *)`` over every axis but 1: returns ``y``, ``x_hat``
    (both shaped like ``x``) and the batch's ``mean`` and biased ``var`` ``(C,)``::

        x_hat = (x - mean) / sqrt(var + eps),    y = x_hat * weight + bias

    Sums are accumulated in float64 whatever the dtype."""
    x = np.ascontiguousarray(x)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    channels = x.shape[1]
    weight = np.ones(channels, x.dtype) if weight is None else weight
    bias = np.zeros(channels, x.dtype) if bias is None else bias
    x_hat, y = np.empty_like(x), np.empty_like(x)
    mean, var = np.empty(channels, x.dtype), np.empty(channels, x.dtype)
    _batch_norm_forward(flat, weight, bias, float(eps), x_hat.reshape(flat.shape), y.reshape(flat.shape), mean, var)
    return y, x_hat, mean, var


def batch_norm_backward(grad: np.ndarray, x_hat: np.ndarray,
                        scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The closed-form backward of ``batch_norm_forward`` with ``scale = weight / sqrt(var + eps)``
    ``(C,)`` and ``M`` values per channel::

        grad_x = scale * (grad - x_hat * sum(grad * x_hat) / M - sum(grad) / M)

    Returns ``grad_x`` (shaped like ``grad``), ``grad_weight = sum(grad * x_hat)`` and
    ``grad_bias = sum(grad)`` ``(C,)``."""
    grad = np.ascontiguousarray(grad)
    flat = grad.reshape(grad.shape[0], grad.shape[1], -1)
    grad_x = np.empty_like(grad)
    grad_weight, grad_bias = np.empty(grad.shape[1], grad.dtype), np.empty(grad.shape[1], grad.dtype)
    _batch_norm_backward(flat, x_hat.reshape(flat.shape), np.ascontiguousarray(scale, dtype=grad.dtype),
                         grad_x.reshape(flat.shape), grad_weight, grad_bias)
    return grad_x, grad_weight, grad_bias


def max_pool_2x2(x: np.ndarray, offset_type: Any) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling over disjoint 2x2 windows (stride 2, no padding), the pooling of most CNNs:
    ``x (N, C, H, W)`` -> the maxima ``(N, C, H//2, W//2)`` and the offset ``i*2 + j`` of each
    window's first maximum (``offset_type``), or of its last NaN, as PyTorch picks it."""
    x = np.ascontiguousarray(x)
    n, channels, height, width = x.shape
    shape = (n, channels, height // 2, width // 2)
    values, offsets = np.empty(shape, x.dtype), np.empty(shape, offset_type)
    _max_pool_2x2(x.reshape(n * channels, height, width), values.reshape(n * channels, *shape[2:]),
                  offsets.reshape(n * channels, *shape[2:]))
    return values, offsets


def max_pool_2x2_backward(grad: np.ndarray, offsets: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The adjoint of ``max_pool_2x2``: ``grad (N, C, Ho, Wo)`` placed at each window's argmax in
    an ``(N, C, H, W)`` array (``size = (H, W)``), zeros elsewhere. One write per element."""
    n, channels, out_h, out_w = grad.shape
    covered = size == (2 * out_h, 2 * out_w)
    out = (np.empty if covered else np.zeros)((n, channels) + tuple(size), grad.dtype)
    _max_pool_2x2_backward(np.ascontiguousarray(grad).reshape(n * channels, out_h, out_w),
                           np.ascontiguousarray(offsets).reshape(n * channels, out_h, out_w),
                           out.reshape(n * channels, *size))
    return out


def adam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                max_exp_avg_sq: np.ndarray | None, betas: tuple[float, float], bias_correction2: float, eps: float,
                step_size: float) -> bool:
    """One Adam step in place, the same float operations as ``optim.Adam``'s NumPy code::

        m <- m + (g - m) * (1 - beta1);   v <- v * beta2 + g*g * (1 - beta2);   (amsgrad: v <- max(v_max, v))
        param <- param - m / (sqrt(v) / sqrt(bias_correction2) + eps) * step_size

    with every constant rounded to the parameter's dtype first, as NumPy does with Python floats.
    Returns False, doing nothing, unless every array is a contiguous NumPy array of ``param``'s
    floating dtype and shape (then the caller takes the NumPy path)."""
    arrays = [param, grad, exp_avg, exp_avg_sq] + ([] if max_exp_avg_sq is None else [max_exp_avg_sq])
    if not (enabled_for(param) and param.dtype.kind == "f" and all(
            type(a) is np.ndarray and a.dtype == param.dtype and a.shape == param.shape and a.flags.c_contiguous
            for a in arrays)):
        return False
    like = param.dtype.type
    beta1, beta2 = betas
    flat = [a.reshape(-1) for a in arrays]
    _adam_update(flat[0], flat[1], flat[2], flat[3], flat[-1], max_exp_avg_sq is not None, like(1 - beta1),
                 like(beta2), like(1 - beta2), like(bias_correction2**0.5), like(eps), like(step_size))
    return True


def applies_elementwise(grad: Any, saved: Any) -> bool:
    """Whether an elementwise backward kernel can take ``grad`` against the saved array: NumPy
    arrays of one shape and one floating dtype."""
    return (enabled_for(grad) and type(saved) is np.ndarray and grad.shape == saved.shape
            and grad.dtype == saved.dtype and grad.dtype.kind == "f")


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, to the C library's accuracy (NumPy has none)."""
    out = np.empty(x.shape, dtype=x.dtype)  # np.ascontiguousarray would make a 0-d array 1-d
    _erf(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out


def relu_backward(grad: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``grad`` where ``y > 0``, else 0 (PyTorch's rule: a NaN gradient is also cut where ``y <= 0``)."""
    out = np.empty(grad.shape, dtype=grad.dtype)
    _relu_backward(np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(y).reshape(-1), out.reshape(-1))
    return out


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    """``grad`` where ``x > 0``, else ``slope * grad``."""
    out = np.empty(grad.shape, dtype=grad.dtype)
    _leaky_relu_backward(np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(x).reshape(-1),
                         grad.dtype.type(slope), out.reshape(-1))
    return out


# ---- special functions (minidl/ops/special.py): the C library's, where NumPy has none -------------


def _lgamma(x, out):
    for k in range(x.size):
        out[k] = math.lgamma(x[k])


def _erfc(x, out):
    for k in range(x.size):
        out[k] = math.erfc(x[k])


if ENABLED:
    _lgamma = _compile(_lgamma)
    _erfc = _compile(_erfc)


def lgamma(x: np.ndarray) -> np.ndarray:
    """``log|Gamma(x)|``, elementwise, to the C library's accuracy (inf at 0 and the negative integers)."""
    out = np.empty(x.shape, dtype=x.dtype)  # np.ascontiguousarray would make a 0-d array 1-d
    _lgamma(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out


def erfc(x: np.ndarray) -> np.ndarray:
    """``1 - erf(x)``, elementwise, to the C library's relative accuracy (no cancellation for large x)."""
    out = np.empty(x.shape, dtype=x.dtype)  # np.ascontiguousarray would make a 0-d array 1-d
    _erfc(np.ascontiguousarray(x).reshape(-1), out.reshape(-1))
    return out
