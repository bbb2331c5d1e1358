"""Special functions with their derivatives: ``lgamma``, ``digamma``, ``polygamma``, ``erf``, ``erfc``, ``erfinv``,
``i0``/``i1``, ``sinc`` and ``xlog1py``. PyTorch's names and values.

Each forward is vectorised over NumPy or CuPy arrays in the input's dtype (integers become the
default float); each derivative is again one of these functions, so second derivatives work::

    d lgamma = digamma,  d digamma = polygamma(1, .),  d polygamma(n, .) = polygamma(n + 1, .)
    d erfc(x) = -2/sqrt(pi) exp(-x^2),  d erfinv(x) = sqrt(pi)/2 exp(erfinv(x)^2),  d i0 = i1

``lgamma`` and ``erfc`` call the C library through numba on NumPy arrays (``cpu_kernels``) and
``cupyx.scipy.special`` on CuPy; the vectorised formulas here are the fallback without either.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..autograd.function import Op
from ..backend import array_module
from ..tensor import Tensor
from . import cpu_kernels
from .activation import erf as erf_array
from .composed import _float_operands
from .elementwise import _unary, isnan, log1p, sin, where

__all__ = ["lgamma", "digamma", "polygamma", "erf", "erfc", "erfinv", "i0", "i1", "sinc", "xlog1py"]

# Bernoulli numbers B_2, B_4, ..., B_18: the coefficients of the Stirling-type asymptotic series.
BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)

# Lanczos' approximation with g = 7 and 9 terms (the widely published coefficients): relative error
# about 1e-15 in Gamma(x) for x >= 0.5.
LANCZOS_G = 7.0
LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
           12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7)

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _device_special(xp: Any, name: str) -> Any:
    """``cupyx.scipy.special.<name>`` on CuPy, or None (NumPy, or CuPy without it)."""
    if xp is np:
        return None
    try:
        from cupyx.scipy import special
    except ImportError:
        return None
    return getattr(special, name, None)


def _to_float(input: Tensor) -> Tensor:
    """Bools and integers become the default float, as PyTorch promotes them for these functions."""
    return input if input.dtype.kind in "fc" else input.to(dtypes.get_default_dtype())


def _distance_to_integer(xp: Any, x: Any) -> Any:
    """``x - round(x)``, exact in floating point: ``sin(pi x)`` and ``tan(pi x)`` from it lose nothing
    for large ``|x|`` (``pi * x`` itself would be rounded)."""
    return x - xp.round(x)


# ---- lgamma, digamma, polygamma -----------------------------------------------------------------


def _lgamma(xp: Any, x: Any) -> Any:
    if cpu_kernels.enabled_for(x):
        return cpu_kernels.lgamma(x)
    device = _device_special(xp, "gammaln")
    if device is not None:
        return device(x).astype(x.dtype, copy=False)
    return lgamma_lanczos(xp, x)


def lgamma_lanczos(xp: Any, x: Any) -> Any:
    """``log|Gamma(x)|`` from Lanczos' approximation for ``x >= 0.5`` and the reflection formula
    ``lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x)`` below; absolute error about 1e-15 (float64)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reflect = x < 0.5
        z = xp.where(reflect, 1 - x, x)
        series = xp.full_like(z, LANCZOS[0])
        for i, c in enumerate(LANCZOS[1:], start=1):
            series = series + c / (z - 1 + i)
        t = z + (LANCZOS_G - 0.5)
        positive = HALF_LOG_2PI + (z - 0.5) * xp.log(t) - t + xp.log(series)
        sine = xp.abs(xp.sin(math.pi * _distance_to_integer(xp, x)))
        out = xp.where(reflect, xp.log(math.pi / sine) - positive, positive)
        return xp.where(xp.isinf(x), xp.inf, out).astype(x.dtype, copy=False)


def _polygamma_array(xp: Any, n: int, x: Any) -> Any:
    """The ``n``-th derivative of digamma (``n = 0``: digamma itself), vectorised.

    Below ``10 + 2n`` the recurrence ``psi_n(x) = psi_n(x + 1) + (-1)^(n+1) n! / x^(n+1)`` shifts ``x``
    up; there the asymptotic series (Bernoulli numbers, 9 terms) is good to ~1e-16 relative. For
    ``x < 0.5`` digamma and trigamma use the reflection formulas (``pi cot(pi x)`` and its derivative);
    higher orders use the recurrence from ``x`` itself (finite only above -1000).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if n <= 1:
            reflect = x < 0.5
            z = xp.where(reflect, 1 - x, x)
        else:
            reflect = None
            z = xp.where(x < -1000, xp.nan, x)
        threshold = 10.0 + 2 * n
        sign = -1.0 if n % 2 == 0 else 1.0
        factorial = float(math.factorial(n))
        shifted = xp.zeros_like(z)
        lowest = float(xp.where(xp.isfinite(z), z, threshold).min()) if z.size else threshold
        steps = int(math.ceil(threshold - lowest))
        for _ in range(steps):
            low = z < threshold
            shifted = shifted + xp.where(low, sign * factorial / z ** (n + 1), 0)
            z = xp.where(low, z + 1, z)
        inverse_square = 1 / (z * z)
        if n == 0:
            series = xp.zeros_like(z)
            for k in range(len(BERNOULLI), 0, -1):  # Horner in 1/z^2, smallest terms first
                series = (series + BERNOULLI[k - 1] / (2 * k)) * inverse_square
            out = xp.log(z) - 0.5 / z - series + shifted
        else:
            series = xp.zeros_like(z)
            for k in range(len(BERNOULLI), 0, -1):
                coefficient = BERNOULLI[k - 1] * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
                series = (series + coefficient) * inverse_square
            leading = math.factorial(n - 1) + factorial / (2 * z) + series
            out = sign * leading / z**n + shifted
        if reflect is not None:
            r = _distance_to_integer(xp, x)
            if n == 0:
                out = xp.where(reflect, out - math.pi / xp.tan(math.pi * r), out)
                out = xp.where(x == 0, xp.copysign(xp.inf, -x), out)  # PyTorch: -inf at +0, +inf at -0
                out = xp.where((r == 0) & (x < 0), xp.nan, out)
            else:
                out = xp.where(reflect, (math.pi / xp.sin(math.pi * r)) ** 2 - out, out)
        return out.astype(x.dtype, copy=False)


class Polygamma(Op):
    """``psi_n(x)``, the ``n``-th derivative of digamma; its derivative is ``psi_{n+1}(x)``."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return _flat(lambda xp, flat: _polygamma_array(xp, n, flat))(array_module(x), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Polygamma.apply(x, ctx.n + 1), None


Lgamma = _unary("Lgamma", _lgamma, lambda x: Polygamma.apply(x, 0), "x")


def lgamma(input: Tensor) -> Tensor:
    """``log|Gamma(x)|``, elementwise (inf at 0 and at the negative integers); its derivative is digamma.

        >>> import minidl as md
        >>> md.lgamma(md.tensor([1.0, 5.0, -2.5]))
        tensor([ 0.    ,  3.1781, -0.0562])
    """
    return Lgamma.apply(_to_float(input))


def digamma(input: Tensor) -> Tensor:
    """``psi(x) = d/dx lgamma(x)``, elementwise; -inf at +0, +inf at -0, NaN at the negative integers.

        >>> import minidl as md
        >>> md.digamma(md.tensor([1.0, 0.5]))
        tensor([-0.5772, -1.9635])
    """
    return Polygamma.apply(_to_float(input), 0)


def polygamma(n: int, input: Tensor) -> Tensor:
    """``psi_n(x)``, the ``n``-th derivative of digamma (``n = 0`` is digamma), elementwise.

        >>> import minidl as md
        >>> md.polygamma(1, md.tensor([1.0]))  # pi^2 / 6
        tensor([1.6449])
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return Polygamma.apply(_to_float(input), n)


# ---- erfc, erfinv -------------------------------------------------------------------------------


def _erfc(xp: Any, x: Any) -> Any:
    """``1 - erf(x)`` to full relative accuracy: the C library's with numba, CuPy's on the GPU; otherwise
    Numerical Recipes' ``erfcc`` (relative error below 1.2e-7, and never a ``1 - erf`` cancellation)."""
    if cpu_kernels.enabled_for(x):
        return cpu_kernels.erfc(x)
    device = _device_special(xp, "erfc")
    if device is not None:
        return device(x).astype(x.dtype, copy=False)
    z = xp.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    tail = t * xp.exp(poly)
    return xp.where(x >= 0, tail, 2 - tail).astype(x.dtype, copy=False)


def _flat(function: Any) -> Any:
    """Run ``function(xp, x)`` on ``x`` made 1-d: NumPy's ufuncs turn 0-d arrays into scalars, which
    would miss the compiled kernels (they take arrays)."""

    def on_flat(xp: Any, x: Any) -> Any:
        return function(xp, x.reshape(-1)).reshape(x.shape)

    return on_flat


@_flat
def _erfinv(xp: Any, x: Any) -> Any:
    """Giles' single-precision approximation ("Approximating the erfinv function", 2010), then four
    Newton steps on ``erf(y) = |x|`` (``|x| <= 0.5``) or on ``log erfc(y) = log(1 - |x|)`` (above, where
    ``1 - |x|`` is exact and ``erfc`` keeps full relative accuracy, so ``|x|`` next to 1 loses nothing; in
    log form the equation is nearly linear in ``y``, so the steps converge from the approximation's
    rough guesses beyond single precision's range, ``1 - |x| < 1e-7``)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = xp.abs(x)
        w = -xp.log((1 - a) * (1 + a))
        central, tail = w - 2.5, xp.sqrt(w) - 3
        p_central = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p_central = c + p_central * central
        p_tail = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p_tail = c + p_tail * tail
        y = xp.where(w < 5, p_central, p_tail) * a
        small, log_complement = a <= 0.5, xp.log(1 - a)
        for _ in range(4):
            slope = TWO_OVER_SQRT_PI * xp.exp(-y * y)
            tail_value = _erfc(xp, y)
            step_tail = (xp.log(tail_value) - log_complement) * tail_value / slope
            y = y + xp.where(small, (a - erf_array(xp, y)) / slope, step_tail)
        y = xp.where(a == 1, xp.inf, xp.where(a > 1, xp.nan, y))
        return (xp.sign(x) * y).astype(x.dtype, copy=False)


Erf = _unary("Erf", erf_array, lambda x: TWO_OVER_SQRT_PI * (-x * x).exp(), "x")
Erfc = _unary("Erfc", _erfc, lambda x: -TWO_OVER_SQRT_PI * (-x * x).exp(), "x")
Erfinv = _unary("Erfinv", _erfinv, lambda y: (0.5 * math.sqrt(math.pi)) * (y * y).exp(), "y")


def erf(input: Tensor) -> Tensor:
    """The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``, elementwise.

        >>> import minidl as md
        >>> md.erf(md.tensor([0.0, 1.0]))
        tensor([0.    , 0.8427])
    """
    return Erf.apply(_to_float(input))


def erfc(input: Tensor) -> Tensor:
    """The complementary error function ``1 - erf(x)``, accurate where it is tiny (large ``x``).

        >>> import minidl as md
        >>> md.erfc(md.tensor([0.0, 10.0], dtype=md.float64))
        tensor([1.0000e+00, 2.0885e-45], dtype=minidl.float64)
    """
    return Erfc.apply(_to_float(input))


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function on ``[-1, 1]``: ``erf(erfinv(x)) = x``; +-inf at +-1, NaN outside.

        >>> import minidl as md
        >>> md.erfinv(md.tensor([0.0, 0.5, -1.0]))
        tensor([0.    , 0.4769,   -inf])
    """
    return Erfinv.apply(_to_float(input))


# ---- modified Bessel functions i0, i1 -----------------------------------------------------------

BESSEL_SWITCH = 30.0  # the power series below, the asymptotic series above
SERIES_TERMS, ASYMPTOTIC_TERMS = 60, 20


def _bessel_i(xp: Any, order: int, x: Any) -> Any:
    """``I_order(x)`` for order 0 or 1. Power series ``sum (x/2)^(2k+order) / (k! (k+order)!)`` for
    ``|x| <= 30`` (positive terms: no cancellation), and ``e^|x| / sqrt(2 pi |x|) sum_k (-1)^k a_k / |x|^k``,
    ``a_k = prod_{j <= k} (4 order^2 - (2j-1)^2) / (k! 8^k)``, above; I_1 is odd, I_0 even."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = xp.abs(x)
        near = xp.minimum(z, BESSEL_SWITCH)
        quarter = near * near / 4
        term = (near / 2) if order else xp.ones_like(near)
        series = term
        for k in range(1, SERIES_TERMS):
            term = term * quarter / (k * (k + order))
            series = series + term
        far = xp.maximum(z, BESSEL_SWITCH)
        coefficient, expansion = 1.0, xp.ones_like(far)
        for k in range(1, ASYMPTOTIC_TERMS):
            coefficient *= -(4 * order * order - (2 * k - 1) ** 2) / (k * 8)
            expansion = expansion + coefficient / far**k
        asymptotic = xp.exp(far) / xp.sqrt(2 * math.pi * far) * expansion
        out = xp.where(z <= BESSEL_SWITCH, series, asymptotic)
        if order:
            out = xp.where(x < 0, -out, out)
        return out.astype(x.dtype, copy=False)


class BesselI1(Op):
    """``I_1(x)``; ``d/dx I_1 = I_0 - I_1 / x`` (1/2 at 0)."""

    op_name = "i1"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _bessel_i(array_module(x), 1, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        zero = x == 0
        return grad * where(zero, 0.5, BesselI0.apply(x) - BesselI1.apply(x) / where(zero, 1.0, x))


BesselI0 = _unary("BesselI0", lambda xp, x: _bessel_i(xp, 0, x), lambda x: BesselI1.apply(x), "x")
BesselI0.op_name = "i0"


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0, ``sum_k (x/2)^(2k) / (k!)^2``; d/dx = i1.

        >>> import minidl as md
        >>> md.i0(md.tensor([0.0, 1.0]))
        tensor([1.    , 1.2661])
    """
    return BesselI0.apply(_to_float(input))


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1 (``torch.special.i1``); odd in ``x``.

        >>> import minidl as md
        >>> md.i1(md.tensor([0.0, 1.0]))
        tensor([0.    , 0.5652])
    """
    return BesselI1.apply(_to_float(input))


# ---- compositions: sinc, xlog1py ----------------------------------------------------------------


def sinc(input: Tensor) -> Tensor:
    """The normalised sinc, ``sin(pi x) / (pi x)``, and 1 at ``x = 0`` (where the gradient is 0).

        >>> import minidl as md
        >>> md.sinc(md.tensor([0.0, 0.5, 1.0]))
        tensor([ 1.0000e+00,  6.3662e-01, -2.7828e-08])
    """
    x = _to_float(input)
    zero = x == 0
    scaled = where(zero, 1.0, x) * math.pi  # no 0/0, in the value or in the gradient
    return where(zero, 1.0, sin(scaled) / scaled)


def xlog1py(input: Any, other: Any) -> Tensor:
    """``input * log1p(other)``, and 0 where ``input == 0`` (unless ``other`` is NaN), broadcasting
    (``torch.special.xlog1py``).

        >>> import minidl as md
        >>> md.xlog1py(md.tensor([0.0, 2.0]), md.tensor([-1.0, 0.0]))
        tensor([0., 0.])
    """
    x, y = _float_operands(input, other)
    x = x if isinstance(x, Tensor) else Tensor._make(x)
    y = y if isinstance(y, Tensor) else Tensor._make(y)
    zero = x == 0
    safe = where(zero, 0.0, y)  # log1p(y) is never taken where unused: no NaN in the gradient
    return where(isnan(y), y, where(zero, 0.0, x * log1p(safe)))
