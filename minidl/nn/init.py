"""Weight initialisation, in place, with PyTorch's names, formulas and fan rules.

Every function fills its tensor in place (outside the graph, like PyTorch's ``torch.no_grad``
initialisers) from minidl's seeded generator (``md.manual_seed``), and returns the tensor::

    weight = nn.Parameter(md.empty(128, 784))
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))     # what nn.Linear does by default
    nn.init.zeros_(bias)

Fans: for a weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import generator_for
from ..tensor import Tensor

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear/conv/sigmoid: 1, tanh: 5/3, relu: sqrt(2), leaky_relu: sqrt(2 / (1 + slope^2)), selu: 3/4.

    >>> from minidl import nn
    >>> nn.init.calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in _LINEAR_LIKE:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{list(_LINEAR_LIKE) + ['tanh', 'relu', 'leaky_relu', 'selu']}"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight ``(out, in, *kernel)``; needs at least 2 dimensions."""
    if tensor.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions "
            f"(got shape {tuple(tensor.shape)})"
        )
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor: Tensor, values: Any) -> Tensor:
    """Store ``values`` into ``tensor`` in place, outside the graph."""
    tensor._data[...] = values
    tensor._version[0] += 1
    return tensor


def _draw_dtype(tensor: Tensor) -> np.dtype:
    """Draw float32 for float16/float32 tensors (no float64 temporaries), float64 for float64."""
    return np.dtype(np.float64) if tensor.dtype == np.float64 else np.dtype(np.float32)


def _standard_uniform(tensor: Tensor) -> Any:
    return generator_for(tensor._xp()).random(size=tensor.shape, dtype=_draw_dtype(tensor))


def _standard_normal(tensor: Tensor, size: Any = None) -> Any:
    shape = tensor.shape if size is None else size
    return generator_for(tensor._xp()).standard_normal(size=shape, dtype=_draw_dtype(tensor))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with values drawn from U(a, b)."""
    dtype = _draw_dtype(tensor)
    return _write(tensor, dtype.type(a) + dtype.type(b - a) * _standard_uniform(tensor))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with values drawn from N(mean, std^2)."""
    dtype = _draw_dtype(tensor)
    return _write(tensor, dtype.type(mean) + dtype.type(std) * _standard_normal(tensor))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill from N(mean, std^2) restricted to [a, b] (absolute bounds, as in PyTorch), by rejection."""
    if not a < b:
        raise ValueError(f"trunc_normal_: expected a < b, got a={a}, b={b}")
    low, high = (a - mean) / std, (b - mean) / std
    mass = 0.5 * (math.erf(high / math.sqrt(2)) - math.erf(low / math.sqrt(2)))
    if mass < 1e-4:
        raise ValueError(
            f"trunc_normal_: [a, b] = [{a}, {b}] holds only {mass:.2g} of N({mean}, {std}^2); "
            "choose bounds nearer the mean"
        )
    xp = tensor._xp()
    count = tensor._data.size
    accepted = []
    remaining = count
    while remaining > 0:
        draws = _standard_normal(tensor, (int(remaining / mass * 1.1) + 16,))
        kept = draws[(draws >= low) & (draws <= high)][:remaining]
        accepted.append(kept)
        remaining -= kept.size
    dtype = _draw_dtype(tensor)
    values = xp.concatenate(accepted).reshape(tensor.shape)
    return _write(tensor, dtype.type(mean) + dtype.type(std) * values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _write(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return _write(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _write(tensor, 1)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-bound, bound) with ``bound = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-bound, bound), ``bound = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity, a)``.

    ``kaiming_uniform_(w, a=math.sqrt(5))`` gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's
    default for Linear and Conv weights.
    """
    if tensor._data.size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std^2), ``std = gain / sqrt(fan)``."""
    if tensor._data.size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix, from the QR decomposition of a Gaussian one (PyTorch's recipe).

    tensor: at least 2-D; dims after the first are flattened.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got shape "
                         f"{tuple(tensor.shape)}")
    if tensor._data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor._data.size // rows
    xp = tensor._xp()
    flattened = _standard_normal(tensor, (rows, cols))
    if rows < cols:
        flattened = flattened.T
    q, r = xp.linalg.qr(flattened)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * q.dtype.type(gain)).reshape(tensor.shape))
