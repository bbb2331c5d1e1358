"""Elementwise ops: arithmetic, math functions, comparisons, casts and device moves.

Binary ops broadcast like NumPy; the engine sums each gradient back to its input's shape,
so no op here deals with broadcasting in its backward. Operands are promoted to one dtype
by ``dtypes.promote`` (PyTorch's rules) before the op runs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..autograd.grad_mode import _GradMode
from ..backend import array_module, to_device
from ..tensor import Tensor
from . import cpu_kernels

# ---- operand preparation ------------------------------------------------------------------


def _operands(a: Any, b: Any) -> tuple[Any, Any]:
    """Bring two operands (Tensor, Python scalar or array) to one dtype and device.

    Scalars become 0-d arrays of the result dtype; they are constants, not graph inputs.
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype != b._data.dtype:
            dtype = dtypes.promote(a._data.dtype, b._data.dtype, a.ndim == 0, b.ndim == 0)
            a, b = a.to(dtype), b.to(dtype)
        return a, b
    if isinstance(a, Tensor):
        a, b = _with_scalar(a, b)
        return a, b
    if isinstance(b, Tensor):
        b, a = _with_scalar(b, a)
        return a, b
    raise TypeError(f"expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}")


def _with_scalar(tensor: Tensor, other: Any) -> tuple[Tensor, Any]:
    xp = tensor._xp()
    if isinstance(other, (np.ndarray,)) or (xp is not np and isinstance(other, xp.ndarray)):
        other_tensor = Tensor._make(xp.asarray(other))
        return _operands(tensor, other_tensor) if other.ndim else _with_scalar(tensor, other.item())
    dtype = dtypes.scalar_dtype(other, tensor._data.dtype)
    if dtype != tensor._data.dtype:
        tensor = tensor.to(dtype)
    return tensor, xp.asarray(other, dtype=dtype)


def _binary(op: type[Op], a: Any, b: Any) -> Tensor:
    a, b = _operands(a, b)
    return op.apply(a, b)


def _float_operands(a: Any, b: Any) -> tuple[Any, Any]:
    """Like ``_operands``, then integers become the default float (true division, pow)."""
    a, b = _operands(a, b)
    tensor = a if isinstance(a, Tensor) else b
    if tensor._data.dtype.kind not in "fc":
        default = dtypes.get_default_dtype()
        a = a.to(default) if isinstance(a, Tensor) else a.astype(default)
        b = b.to(default) if isinstance(b, Tensor) else b.astype(default)
    return a, b


# ---- arithmetic ---------------------------------------------------------------------------


class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(b if needs_a else None, a if needs_b else None)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        b, a = ctx.saved_tensors
        return (grad * b if b is not None else None), (grad * a if a is not None else None)


class Div(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = grad / b if ctx.needs_input_grad[0] else None
        grad_b = -grad * a / (b * b) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Pow(Op):
    """``a ** b`` with both sides possibly tensors; d/db uses log(a), taken as 0 where a == 0."""

    @staticmethod
    def forward(ctx, a, b):
        out = array_module(a).power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = grad * b * a ** (b - 1) if ctx.needs_input_grad[0] else None
        grad_b = None
        if ctx.needs_input_grad[1]:
            safe_log = where(a == 0, 0.0, a).log() if a.dtype.kind == "f" else a.to(grad.dtype).log()
            grad_b = grad * out * safe_log
        return grad_a, grad_b


class PowScalar(Op):
    """``x ** p`` for a Python number ``p``: d/dx = p x^(p-1)."""

    op_name = "pow"

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return array_module(x).power(x, x.dtype.type(exponent) if x.dtype.kind == "f" else exponent)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p = ctx.exponent
        if p == 0:
            return grad * 0.0, None
        if p == 1:
            return grad, None
        if p == 2:
            return grad * 2.0 * x, None
        return grad * p * x ** (p - 1), None


class Maximum(Op):
    """Elementwise max; where the two are equal the gradient is split evenly (as PyTorch does)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = (a > b) + (a == b) * 0.5
        return grad * share, grad * (1.0 - share)


class Minimum(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return array_module(a).minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share = (a < b) + (a == b) * 0.5
        return grad * share, grad * (1.0 - share)


class Remainder(Op):
    """Python's ``%`` (sign of the divisor), as ``torch.remainder``."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[1] else None)
        return array_module(a).remainder(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_b = -grad * (a / b).floor() if ctx.needs_input_grad[1] else None
        return grad, grad_b


class FloorDivide(Op):
    """``//``: piecewise constant, so not differentiable (its output never requires grad)."""

    @staticmethod
    def forward(ctx, a, b):
        out = array_module(a).floor_divide(a, b)
        ctx.mark_non_differentiable(out)
        return out


class Where(Op):
    """``where(condition, a, b)``: a where condition holds, else b."""

    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.save_for_backward(condition)
        return array_module(condition).where(condition, a, b)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        grad_a = where(condition, grad, 0.0) if ctx.needs_input_grad[1] else None
        grad_b = where(condition, 0.0, grad) if ctx.needs_input_grad[2] else None
        return None, grad_a, grad_b


class Clamp(Op):
    """Clip to [min, max]; the gradient passes where min <= x <= max (bounds included)."""

    @staticmethod
    def forward(ctx, x, low, high):
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return array_module(x).clip(x, low, high).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        inside = None
        if ctx.low is not None:
            inside = x >= ctx.low
        if ctx.high is not None:
            below = x <= ctx.high
            inside = below if inside is None else inside & below
        return grad * inside, None, None


# ---- unary math, declared as derivative rules ----------------------------------------------


def _unary(name: str, forward: Callable, derivative: Callable, uses: str) -> type[Op]:
    """Declare a unary op by its forward and its derivative dy/dx.

    uses: ``'x'`` when the derivative needs the input, ``'y'`` when it needs the output
    (saving the output frees the input and keeps PyTorch's in-place rules).
    """

    def op_forward(ctx, x):
        y = forward(array_module(x), x)
        ctx.save_for_backward(x if uses == "x" else y)
        return y

    def op_backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        return grad * derivative(saved)

    return type(name, (Op,), {
        "forward": staticmethod(op_forward),
        "backward": staticmethod(op_backward),
        "__doc__": f"Elementwise {name.lower()}.",
    })


def _sigmoid(xp: Any, x: Any) -> Any:
    # exp of a non-positive number never overflows: use the form that needs only that.
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _float_only(forward: Callable) -> Callable:
    def checked(xp: Any, x: Any) -> Any:
        if x.dtype.kind not in "fc":
            x = x.astype(dtypes.get_default_dtype())
        return forward(xp, x)

    return checked


Exp = _unary("Exp", _float_only(lambda xp, x: xp.exp(x)), lambda y: y, "y")
Log = _unary("Log", _float_only(lambda xp, x: xp.log(x)), lambda x: 1 / x, "x")
Log1p = _unary("Log1p", _float_only(lambda xp, x: xp.log1p(x)), lambda x: 1 / (1 + x), "x")
Expm1 = _unary("Expm1", _float_only(lambda xp, x: xp.expm1(x)), lambda x: x.exp(), "x")  # y + 1 loses exp(x) for x << 0
Sqrt = _unary("Sqrt", _float_only(lambda xp, x: xp.sqrt(x)), lambda y: 0.5 / y, "y")
Rsqrt = _unary("Rsqrt", _float_only(lambda xp, x: 1 / xp.sqrt(x)), lambda y: -0.5 * y * y * y, "y")
Sin = _unary("Sin", _float_only(lambda xp, x: xp.sin(x)), lambda x: x.cos(), "x")
Cos = _unary("Cos", _float_only(lambda xp, x: xp.cos(x)), lambda x: -x.sin(), "x")
Tanh = _unary("Tanh", _float_only(lambda xp, x: xp.tanh(x)), lambda y: 1 - y * y, "y")
Sigmoid = _unary("Sigmoid", _float_only(_sigmoid), lambda y: y * (1 - y), "y")


class Relu(Op):
    """Elementwise relu, ``max(x, 0)``; the gradient passes where the output is positive."""

    @staticmethod
    def forward(ctx, x):
        y = array_module(x).maximum(x, 0).astype(x.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        if not _GradMode.enabled and cpu_kernels.applies_elementwise(grad._data, y._data):
            return Tensor._make(cpu_kernels.relu_backward(grad._data, y._data))  # one pass
        return grad * (y > 0)


Abs = _unary("Abs", lambda xp, x: xp.abs(x), lambda x: x.sign(), "x")


class Neg(Op):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Sign(Op):
    """-1, 0 or 1; its gradient is zero everywhere (PyTorch's convention)."""

    @staticmethod
    def forward(ctx, x):
        return array_module(x).sign(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * 0.0


# ---- identity-like ops: copies, casts, device moves ------------------------------------------


class Clone(Op):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Contiguous(Op):
    @staticmethod
    def forward(ctx, x):
        return array_module(x).ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Op):
    """Change dtype; the gradient is cast back by the engine."""

    op_name = "to"

    @staticmethod
    def forward(ctx, x, dtype):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class ToDevice(Op):
    """Copy to another device; the gradient travels back."""

    op_name = "to"

    @staticmethod
    def forward(ctx, x, device):
        from ..backend import device_of

        ctx.source = device_of(x)
        return to_device(x, device)

    @staticmethod
    def backward(ctx, grad):
        return grad.to(ctx.source), None


# ---- comparisons and logic (no gradient) ----------------------------------------------------


def _no_grad_binary(ufunc: str, name: str) -> Callable[[Any, Any], Tensor]:
    def compare(a: Any, b: Any) -> Tensor:
        a, b = _operands(a, b)
        a_array = a._data if isinstance(a, Tensor) else a
        b_array = b._data if isinstance(b, Tensor) else b
        xp = array_module(a_array if isinstance(a, Tensor) else b_array)
        try:
            return Tensor._make(getattr(xp, ufunc)(a_array, b_array))
        except (ValueError, TypeError) as error:
            raise RuntimeError(
                f"{name}: {error} (shapes {tuple(np.shape(a_array))} and {tuple(np.shape(b_array))})"
            ) from error

    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` of two tensors (or a tensor and a scalar); no gradient."
    return compare


eq = _no_grad_binary("equal", "eq")
ne = _no_grad_binary("not_equal", "ne")
lt = _no_grad_binary("less", "lt")
le = _no_grad_binary("less_equal", "le")
gt = _no_grad_binary("greater", "gt")
ge = _no_grad_binary("greater_equal", "ge")
bitwise_and = logical_and_raw = _no_grad_binary("bitwise_and", "bitwise_and")
bitwise_or = _no_grad_binary("bitwise_or", "bitwise_or")
bitwise_xor = _no_grad_binary("bitwise_xor", "bitwise_xor")


def logical_not(x: Tensor) -> Tensor:
    return Tensor._make(x._xp().logical_not(x._data))


def bitwise_not(x: Tensor) -> Tensor:
    return Tensor._make(x._xp().invert(x._data))


def logical_and(a: Tensor, b: Tensor) -> Tensor:
    return Tensor._make(a._xp().logical_and(a._data, b._data if isinstance(b, Tensor) else b))


def logical_or(a: Tensor, b: Tensor) -> Tensor:
    return Tensor._make(a._xp().logical_or(a._data, b._data if isinstance(b, Tensor) else b))


def isnan(x: Tensor) -> Tensor:
    return Tensor._make(x._xp().isnan(x._data))


def isinf(x: Tensor) -> Tensor:
    return Tensor._make(x._xp().isinf(x._data))


def isfinite(x: Tensor) -> Tensor:
    return Tensor._make(x._xp().isfinite(x._data))


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(a._xp().allclose(a._data, b._data if isinstance(b, Tensor) else b, rtol=rtol, atol=atol))


def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool((a._data == b._data).all())


# ---- public functions ---------------------------------------------------------------------


def add(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """``input + alpha * other``, broadcasting."""
    return _binary(Add, input, other if alpha == 1 else other * alpha)


def sub(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """``input - alpha * other``, broadcasting."""
    return _binary(Sub, input, other if alpha == 1 else other * alpha)


def mul(input: Any, other: Any) -> Tensor:
    return _binary(Mul, input, other)


def div(input: Any, other: Any, rounding_mode: str | None = None) -> Tensor:
    """True division (integers give floats); ``rounding_mode='floor'`` is ``//``."""
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        return div(input, other).trunc()
    return Div.apply(*_float_operands(input, other))


def floor_divide(input: Any, other: Any) -> Tensor:
    return _binary(FloorDivide, input, other)


def remainder(input: Any, other: Any) -> Tensor:
    return _binary(Remainder, input, other)


def pow(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent``; either side may be a tensor or a number."""
    if isinstance(input, Tensor) and isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        if input.dtype.kind not in "fc" and (isinstance(exponent, float) or exponent < 0):
            input = input.to(dtypes.get_default_dtype())
        return PowScalar.apply(input, exponent)
    a, b = _operands(input, exponent)
    return Pow.apply(a, b)


def maximum(input: Tensor, other: Any) -> Tensor:
    return _binary(Maximum, input, other)


def minimum(input: Tensor, other: Any) -> Tensor:
    return _binary(Minimum, input, other)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """Elementwise choice: ``input`` where ``condition`` is true, else ``other`` (broadcasting)."""
    if not isinstance(condition, Tensor):
        reference = input if isinstance(input, Tensor) else other
        condition = Tensor._make(reference._xp().asarray(condition, dtype=bool))
    if condition.dtype != dtypes.bool_:
        condition = condition.to(dtypes.bool_)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = Tensor._make(condition._xp().asarray(input, dtype=dtypes.get_default_dtype()))
    a, b = _operands(input, other)
    return Where.apply(condition, a, b)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clip values to ``[min, max]`` (either may be None; tensors broadcast)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return Clamp.apply(input, min, max)


clip = clamp


def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


negative = neg


def exp(input: Tensor) -> Tensor:
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    return Log.apply(input)


def log1p(input: Tensor) -> Tensor:
    return Log1p.apply(input)


def expm1(input: Tensor) -> Tensor:
    return Expm1.apply(input)


def sqrt(input: Tensor) -> Tensor:
    return Sqrt.apply(input)


def rsqrt(input: Tensor) -> Tensor:
    return Rsqrt.apply(input)


def sin(input: Tensor) -> Tensor:
    return Sin.apply(input)


def cos(input: Tensor) -> Tensor:
    return Cos.apply(input)


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(input)


def relu(input: Tensor) -> Tensor:
    return Relu.apply(input)


def abs(input: Tensor) -> Tensor:
    return Abs.apply(input)


absolute = abs


def sign(input: Tensor) -> Tensor:
    return Sign.apply(input)


def square(input: Tensor) -> Tensor:
    return PowScalar.apply(input, 2)


def clone(input: Tensor) -> Tensor:
    return Clone.apply(input)


def contiguous(input: Tensor) -> Tensor:
    if input._data.flags.c_contiguous:
        return input
    return Contiguous.apply(input)


def _rounding(ufunc: str) -> Callable[[Tensor], Tensor]:
    def rounded(input: Tensor) -> Tensor:
        out = Tensor._make(getattr(input._xp(), ufunc)(input._data))
        return out

    rounded.__name__ = ufunc
    rounded.__doc__ = f"Elementwise {ufunc}; piecewise constant, so no gradient."
    return rounded


floor = _rounding("floor")
ceil = _rounding("ceil")
round = _rounding("round")
trunc = _rounding("trunc")
