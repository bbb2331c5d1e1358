"""Functions written as compositions of other ops, so that their gradients, first and second,
come from those ops: elementwise math (``lerp``, ``logit``, ``xlogy``, ``fmod``, ...), ``dist`` and
``aminmax``; plus ``atan2``, which needs its own derivative. PyTorch's names and rules. (Shape,
indexing and matrix compositions sit at the end of shape.py, indexing.py and linalg.py.)

    md.lerp(a, b, 0.25)          # a + 0.25 * (b - a)
    md.xlogy(p, q)               # p * log(q), and 0 where p == 0
    md.atan2(y, x)               # the angle of (x, y), in (-pi, pi]
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor
from .elementwise import _float_operands, _operands, isnan, log, trunc, where
from .reduction import amax, amin, norm

min_max = namedtuple("aminmax", ["min", "max"])


class Atan2(Op):
    """``atan2(a, b)``: d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).arctan2(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        scale = grad / (a * a + b * b)
        return scale * b, -scale * a


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of the point ``(other, input)``, elementwise, in ``(-pi, pi]`` (broadcasts).

        >>> import minidl as md
        >>> md.atan2(md.tensor([1.0, -1.0]), md.tensor([0.0, 0.0]))
        tensor([ 1.5708, -1.5708])
    """
    a, b = _float_operands(input, other)
    return Atan2.apply(a, b)


def reciprocal(input: Tensor) -> Tensor:
    """``1 / input`` (integers become the default float)."""
    return 1.0 / input


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """Linear interpolation ``input + weight * (end - input)`` (a scalar or a broadcasting tensor weight).

        >>> import minidl as md
        >>> md.lerp(md.tensor([0.0, 10.0]), md.tensor([1.0, 20.0]), 0.5)
        tensor([ 0.5, 15. ])
    """
    return input + weight * (end - input)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(p / (1 - p))``, the inverse of the sigmoid; with ``eps``, ``p`` is first clamped to
    ``[eps, 1 - eps]`` (so 0 and 1 give finite values, and no gradient outside)."""
    p = input if eps is None else input.clamp(eps, 1 - eps)
    return log(p / (1 - p))


def xlogy(input: Any, other: Any) -> Tensor:
    """``input * log(other)``, and 0 where ``input == 0`` (unless ``other`` is NaN), as in PyTorch:
    the convention that makes ``p * log(p)`` vanish at ``p = 0``, gradients included.

        >>> import minidl as md
        >>> md.xlogy(md.tensor([0.0, 2.0]), md.tensor([0.0, 1.0]))
        tensor([0., 0.])
    """
    x, y = _float_operands(input, other)
    x = x if isinstance(x, Tensor) else Tensor._make(x)
    y = y if isinstance(y, Tensor) else Tensor._make(y)
    zero = x == 0
    safe = where(zero, 1.0, y)  # log(y) is never taken where it is not used: no NaN in the gradient
    return where(isnan(y), y, where(zero, 0.0, x * log(safe)))


def frac(input: Tensor) -> Tensor:
    """The fractional part, ``input - trunc(input)`` (sign of the input)."""
    return input - trunc(input)


class Fmod(Op):
    """C's ``fmod(a, b)`` = ``a - trunc(a / b) * b`` (computed by ``xp.fmod``, exact for every
    value): d/da = 1, d/db = -trunc(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).fmod(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad, -grad * trunc(a / b)


def fmod(input: Any, other: Any) -> Tensor:
    """C's remainder, ``input - trunc(input / other) * other``: the sign of ``input`` (``remainder``
    follows the divisor's)."""
    a, b = _operands(input, other)
    return Fmod.apply(a, b)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default the dtype's
    largest and lowest finite values); the gradient passes where the input was finite."""
    if input.dtype.kind != "f":
        return input.clone()
    info = array_module(input._data).finfo(input.dtype)
    posinf = float(info.max) if posinf is None else posinf
    neginf = float(info.min) if neginf is None else neginf
    data = input._data
    return where(Tensor._make(data != data), nan,
                 where(Tensor._make(data == float("inf")), posinf,
                       where(Tensor._make(data == float("-inf")), neginf, input)))


def isclose(input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (bool, no gradient)."""
    other_data = other._data if isinstance(other, Tensor) else other
    return Tensor._make(input._xp().isclose(input._data, other_data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def logical_xor(input: Tensor, other: Any) -> Tensor:
    """Elementwise exclusive or of the truth values (bool, no gradient)."""
    other_data = other._data if isinstance(other, Tensor) else other
    return Tensor._make(input._xp().logical_xor(input._data, other_data))


def aminmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """``(min, max)`` over ``dim`` (or everything), as a ``(min, max)`` named pair."""
    if dim is None:
        return min_max(amin(input), amax(input))
    return min_max(amin(input, dim, keepdim), amax(input, dim, keepdim))


def dist(input: Tensor, other: Any, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast), a 0-d tensor."""
    return norm(input - other, p)
