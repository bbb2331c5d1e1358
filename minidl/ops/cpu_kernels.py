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

* ``relu_backward(grad, y)`` / ``leaky_relu_backward(grad, x, slope)``: the gradient through
  (leaky) ReLU in one pass, where NumPy makes a mask, converts it and multiplies (3 to 5 passes).

The kernels are compiled on first use (a second or two per dtype) and cached on disk
(``cache=True``: in ``__pycache__`` beside this file, or numba's per-user cache where that is
read-only; ``NUMBA_CACHE_DIR`` moves it).
"""

from __future__ import annotations

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


def _relu_backward(grad, y, out):
    for k in range(grad.size):
        out[k] = grad[k] if y[k] > 0 else 0


def _leaky_relu_backward(grad, x, slope, out):
    for k in range(grad.size):
        out[k] = grad[k] if x[k] > 0 else grad[k] * slope

def _compile(function: Any) -> Any:
    """``njit`` with an on-disk cache, or without one where numba finds no writable cache directory."""
    try:
        return njit(cache=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(function)


if ENABLED:
    _col2im_channels_last = _compile(_col2im_channels_last)
    _lstm_cell_backward = _compile(_lstm_cell_backward)
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



def applies_elementwise(grad: Any, saved: Any) -> bool:
    """Whether an elementwise backward kernel can take ``grad`` against the saved array: NumPy
    arrays of one shape and one floating dtype."""
    return (enabled_for(grad) and type(saved) is np.ndarray and grad.shape == saved.shape
            and grad.dtype == saved.dtype and grad.dtype.kind == "f")


def relu_backward(grad: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``grad`` where ``y > 0``, else 0 (PyTorch's rule: a NaN gradient is also cut where ``y <= 0``)."""
    grad, y = np.ascontiguousarray(grad), np.ascontiguousarray(y)
    out = np.empty_like(grad)
    _relu_backward(grad.reshape(-1), y.reshape(-1), out.reshape(-1))
    return out


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    """``grad`` where ``x > 0``, else ``slope * grad``."""
    grad, x = np.ascontiguousarray(grad), np.ascontiguousarray(x)
    out = np.empty_like(grad)
    _leaky_relu_backward(grad.reshape(-1), x.reshape(-1), grad.dtype.type(slope), out.reshape(-1))
    return out
