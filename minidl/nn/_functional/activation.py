"""More activations (``F.mish``, ``F.hardswish``, ``F.glu``, ``F.rrelu``, ...), with PyTorch's arguments.

Each is composed of differentiable minidl ops, so first and second derivatives come free; the
pieces are chosen so that the derivative at a kink is PyTorch's (``Hardtanh``'s gradient is zero
at its bounds, ``clamp``'s is one, ``where`` follows the branch taken). ``inplace=True`` writes
the result into ``input`` and returns it, as ``F.relu(x, inplace=True)`` does::

    h = F.mish(x)                       # x * tanh(softplus(x))
    gated = F.glu(h, dim=1)             # first half * sigmoid(second half) along dim 1
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ...ops import activation as _activation
from ...ops.elementwise import where
from ...ops.reduction import softmax as _softmax
from ...random import generator_for
from ...tensor import Tensor, _check_dim
from . import maybe_inplace


def _float_input(input: Tensor, name: str) -> None:
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating point tensor, got {input.dtype}; convert it with .float()")


def _number(value: Any, argument: str, name: str) -> None:
    if isinstance(value, Tensor) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {argument} must be a number (int or float), got {type(value).__name__}")


def _softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)) with no linear cut-off: exact (never overflows) for every x."""
    return _activation.Softplus.apply(x, 1.0, math.inf)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)), elementwise; any shape. Stable for large |x| (softplus never overflows).

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.mish(md.tensor([0.0, 50.0]))
    tensor([ 0., 50.])
    """
    _float_input(input, "mish")
    return maybe_inplace(input, inplace, "mish", lambda x: x * _softplus(x).tanh())


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3; any shape.

    The derivative is 0 at x = -3 and 1 at x = 3, as in PyTorch.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.hardswish(md.tensor([-4.0, 0.0, 1.5, 4.0]))
    tensor([-0.   ,  0.   ,  1.125,  4.   ])
    """
    _float_input(input, "hardswish")
    return maybe_inplace(input, inplace, "hardswish", lambda x: x * (_activation.Hardtanh.apply(x + 3, 0.0, 6.0) / 6))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, x / 6 + 1/2 between; any shape.

    The derivative is 0 at x = -3 and x = 3, as in PyTorch.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.hardsigmoid(md.tensor([-4.0, 0.0, 1.5, 4.0]))
    tensor([0.  , 0.5 , 0.75, 1.  ])
    """
    _float_input(input, "hardsigmoid")
    return maybe_inplace(input, inplace, "hardsigmoid", lambda x: _activation.Hardtanh.apply(x + 3, 0.0, 6.0) / 6)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|), elementwise; any shape.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.softsign(md.tensor([-3.0, 0.0, 1.0]))
    tensor([-0.75,  0.  ,  0.5 ])
    """
    _float_input(input, "softsign")
    return input / (1 + input.abs())


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x), elementwise; any shape.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.tanhshrink(md.tensor([0.0, 10.0]))
    tensor([0., 9.])
    """
    _float_input(input, "tanhshrink")
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``; any shape, integer tensors too.

    The derivative is 1 where x > threshold and 0 elsewhere (also at x == threshold).

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.threshold(md.tensor([0.5, 1.0, 2.0]), 1.0, -7.0)
    tensor([-7., -7.,  2.])
    """
    _number(threshold, "threshold", "threshold")
    _number(value, "value", "threshold")
    if input.dtype.kind == "f":
        return maybe_inplace(input, inplace, "threshold", lambda x: where(x > threshold, x, value))
    # an integer tensor stays integer (a float value is truncated), as in PyTorch
    return maybe_inplace(input, inplace, "threshold", lambda x: where(x > threshold, x, value).to(x.dtype))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``.

    input: (*, 2n, *) -> (*, n, *) (the size along ``dim`` must be even).

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.glu(md.tensor([[1.0, 2.0, 0.0, 100.0]]))
    tensor([[0.5, 2. ]])
    """
    if input.ndim == 0:
        raise ValueError("glu: does not support a 0-d tensor, as it has no dim to halve")
    axis = _check_dim(dim, input.ndim, "glu")
    size = input.shape[axis]
    if size % 2:
        raise ValueError(
            f"glu: the size along dim {dim} must be even (it is halved), but input of shape {tuple(input.shape)} "
            f"has size {size} there"
        )
    first, second = input.split(size // 2, axis)
    return first * second.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), elementwise; any shape. Never takes log(0) nor overflows:
    about x for x << 0 and about -exp(-x) for x >> 0.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.logsigmoid(md.tensor([-1000.0, 1000.0]))
    tensor([-1000.,    -0.])
    """
    _float_input(input, "logsigmoid")
    return -_softplus(-input)


def _implicit_dim(ndim: int) -> int:
    """PyTorch's dim for softmax-like functions called without one."""
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim``: exp(-x) / sum(exp(-x)); same shape as ``input``.

    dim: None picks PyTorch's implicit dim (0 for 0-, 1- and 3-d input, else 1); dtype: cast to it first.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.softmin(md.tensor([[1.0, 1.0], [0.0, 1000.0]]), dim=1)
    tensor([[0.5, 0.5],
            [1. , 0. ]])
    """
    if dtype is not None:
        input = input.to(dtype)
    _float_input(input, "softmin")
    return _softmax(-input, _implicit_dim(input.ndim) if dim is None else dim)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)), elementwise; any shape. alpha must not be 0.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.celu(md.tensor([-50.0, 0.0, 2.0]), alpha=2.0)
    tensor([-2.,  0.,  2.])
    """
    _number(alpha, "alpha", "celu")
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the negative part is alpha * (exp(x / alpha) - 1))")
    _float_input(input, "celu")
    # relu's derivative at 0 is 0 and clamp's is 1, so the derivative at 0 is 1, as in PyTorch. ELU
    # computes alpha * (exp(z) - 1) for z <= 0 with an exact derivative alpha * exp(z) even for z << 0.
    return maybe_inplace(input, inplace, "celu",
                  lambda x: x.relu() + _activation.ELU.apply(x.clamp(max=0) / alpha, 1.0, alpha))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd for x > lambd, x + lambd for x < -lambd, else 0; any shape. lambd must be >= 0.

    The derivative is 0 at x = +-lambd, as in PyTorch.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.softshrink(md.tensor([-2.0, 0.25, 1.0]), 0.5)
    tensor([-1.5,  0. ,  0.5])
    """
    _number(lambd, "lambd", "softshrink")
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    _float_input(input, "softshrink")
    # clamp passes the gradient at its bounds, so 1 - 1 = 0 at x = +-lambd
    return input - input.clamp(-lambd, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0; any shape. The derivative is 0 at x = +-lambd, as in PyTorch.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.hardshrink(md.tensor([-2.0, 0.25, 1.0]), 0.5)
    tensor([-2.,  0.,  1.])
    """
    _number(lambd, "lambd", "hardshrink")
    _float_input(input, "hardshrink")
    return where(input.abs() > lambd, input, 0.0)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU: x for x > 0, else slope * x; any shape.

    Training: one slope per element, drawn uniformly from [lower, upper) with minidl's seeded
    generator (``md.manual_seed``). Evaluation: the fixed slope (lower + upper) / 2.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.rrelu(md.tensor([-1.0, 2.0]), 0.1, 0.3)
    tensor([-0.2,  2. ])
    """
    _number(lower, "lower", "rrelu")
    _number(upper, "upper", "rrelu")
    if lower > upper:
        raise ValueError(f"rrelu: lower ({lower}) must not exceed upper ({upper})")
    _float_input(input, "rrelu")
    if not training:
        slope = (lower + upper) / 2
        return maybe_inplace(input, inplace, "rrelu", lambda x: _activation.LeakyReLU.apply(x, slope))
    xp = input._xp()
    dtype = input.dtype
    uniform = generator_for(xp).random(size=tuple(input.shape), dtype=np.float64 if dtype == np.float64 else np.float32)
    slopes = (uniform * (upper - lower) + lower).astype(dtype, copy=False)
    slopes = Tensor._make(xp.where(input._data > 0, dtype.type(1), slopes))  # the derivative, constant in x
    return maybe_inplace(input, inplace, "rrelu", lambda x: x * slopes)


__all__ = [
    "celu", "glu", "hardshrink", "hardsigmoid", "hardswish", "logsigmoid", "mish", "rrelu", "softmin", "softshrink",
    "softsign", "tanhshrink", "threshold",
]
