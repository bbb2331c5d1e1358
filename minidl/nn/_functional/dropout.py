"""Dropout: ``F.dropout`` (elements), ``F.dropout1d``/``F.dropout2d`` (whole channels) and
``F.alpha_dropout`` (for SELU networks), with PyTorch's arguments and formulas. Masks come from
minidl's seeded generator; the result is ``input * mask (+ shift)`` with constant mask and shift,
so the gradient is ``mask``.

    h = F.dropout(x, 0.25)                       # each element zeroed with probability 0.25, the rest / 0.75
    h = F.dropout1d(x, 0.2)                      # x: (N, C, L); each x[n, c] zeroed with probability 0.2
    h = F.alpha_dropout(F.selu(x), 0.1, True)    # keeps SELU's mean 0 and variance 1
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...ops import activation as _activation
from ...random import generator_for
from ...tensor import Tensor
from . import maybe_inplace

# SELU's negative saturation value is -scale * alpha; dropped units are set there (before the affine fix-up)
SELU_SATURATION = 1.7580993408473766


def _check_probability(p: float, name: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape: tuple[int, ...], p: float) -> Any:
    """1 with probability 1-p, else 0 (an array in the input's dtype, drawn in float32)."""
    draws = generator_for(input._xp()).random(size=shape, dtype=np.float32)
    return (draws < np.float32(1.0 - p)).astype(input.dtype)


def _dropout_mask(input: Tensor, shape: tuple[int, ...], p: float) -> Tensor:
    """1/(1-p) with probability 1-p, else 0: inverted dropout's mask, broadcastable to ``input``."""
    mask = _keep_mask(input, shape, p)
    if p < 1.0:
        mask *= mask.dtype.type(1.0 / (1.0 - p))
    return Tensor._make(mask)


def _masked(input: Tensor, mask_shape: tuple[int, ...], p: float, training: bool, inplace: bool, name: str) -> Tensor:
    _check_probability(p, name)
    if not training or p == 0.0:
        return input
    mask = _dropout_mask(input, mask_shape, p)
    return maybe_inplace(input, inplace, name, lambda x: _activation.Dropout.apply(x, mask))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity when not
    training); ``inplace``: written into ``input``. Any shape -> the same shape."""
    return _masked(input, tuple(input.shape), p, training, inplace, "dropout")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels: input (N, C, H, W) or (C, H, W); each channel is kept with probability 1-p."""
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected input (N, C, H, W) or (C, H, W), got shape {tuple(input.shape)}")
    return _masked(input, tuple(input.shape)[:-2] + (1, 1), p, training, inplace, "dropout2d")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels with probability ``p`` and scale the rest by 1/(1-p) (identity when not training).

    input: ``(N, C, L)`` or ``(C, L)`` -> the same shape; one draw per ``(n, c)``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.dropout1d(md.ones(2, 3, 4), 0.5, training=False).shape
    (2, 3, 4)
    """
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected input (N, C, L) or (C, L), got shape {tuple(input.shape)}")
    return _masked(input, tuple(input.shape)[:-1] + (1,), p, training, inplace, "dropout1d")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps zero mean and unit variance (for SELU activations); identity when not training.

    Each element is kept with probability 1-p; dropped ones are set to SELU's saturation ``-alpha``
    (``alpha = 1.7581``), then everything goes through ``a * x + b`` with ``a = ((alpha**2 * p + 1) *
    (1 - p)) ** -0.5`` and ``b = a * alpha * p``, as in PyTorch. input: any shape -> the same shape.
    Note the default ``training=False``, as PyTorch's.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> x = md.randn(100000, dtype=md.float64)
    >>> y = F.alpha_dropout(x, 0.2, training=True)
    >>> abs(y.mean().item()) < 0.02 and abs(y.std().item() - 1) < 0.02
    True
    """
    name = "alpha_dropout"
    _check_probability(p, name)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return maybe_inplace(input, inplace, name, lambda x: x * 0.0)
    keep = _keep_mask(input, tuple(input.shape), p)
    a = 1.0 / math.sqrt((SELU_SATURATION ** 2 * p + 1) * (1 - p))
    scale = Tensor._make(keep * keep.dtype.type(a))
    shift = Tensor._make((keep - 1) * keep.dtype.type(SELU_SATURATION * a) + keep.dtype.type(SELU_SATURATION * a * p))
    return maybe_inplace(input, inplace, name, lambda x: x * scale + shift)
