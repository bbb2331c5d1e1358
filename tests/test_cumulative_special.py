"""minidl/ops/cumulative.py and minidl/ops/special.py: a table of cases (gradcheck, gradgradcheck and
PyTorch's values and gradients, float64), then the hard inputs one by one: zeros for cumprod, ties and
NaN for cummax/cummin, huge values for logcumsumexp, poles and negative x for the gamma family,
|x| next to 1 for erfinv, large x for erfc."""

import math
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from op_cases import OpCase, fixed, one, values
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.ops import cpu_kernels, cumulative, special


def _lib(lib):
    """The functions under test: torch's own, or minidl's from the two modules (not yet exported)."""
    if lib is md:
        return types.SimpleNamespace(**{name: getattr(m, name) for m in (cumulative, special) for name in m.__all__})
    return types.SimpleNamespace(**{name: getattr(torch.special if name in ("xlog1py", "i1") else torch, name)
                                    for m in (cumulative, special) for name in m.__all__})


def _shift(a):
    """Smooth values in (1.2, 3.8), away from the gamma family's poles."""
    return a.sigmoid() * 2.6 + 1.2


CASES = [
    OpCase("cumprod", lambda lib, a: _lib(lib).cumprod(a, -1), one(min_dims=1)),
    OpCase("cumprod_dim0", lambda lib, a: _lib(lib).cumprod(a, 0), fixed((4, 3))),
    OpCase("cummax", lambda lib, a: _lib(lib).cummax(a, -1).values, one(min_dims=1)),
    OpCase("cummin", lambda lib, a: _lib(lib).cummin(a, 0)[0], fixed((4, 2))),
    OpCase("logcumsumexp", lambda lib, a: _lib(lib).logcumsumexp(a * 3, -1), one(min_dims=1)),
    OpCase("diff", lambda lib, a: _lib(lib).diff(a, 2, 0), fixed((5, 2))),
    OpCase("diff_prepend_append", lambda lib, a, b: _lib(lib).diff(a, dim=1, prepend=b, append=b * 2),
           fixed((2, 3), (2, 1))),
    OpCase("lgamma", lambda lib, a: _lib(lib).lgamma(a * 4), one(), "away_from_zero"),
    OpCase("digamma", lambda lib, a: _lib(lib).digamma(a * 2.5), one(), "away_from_zero"),
    OpCase("polygamma2", lambda lib, a: _lib(lib).polygamma(2, _shift(a)), one()),
    OpCase("erfc", lambda lib, a: _lib(lib).erfc(a * 3), one()),
    OpCase("erfinv", lambda lib, a: _lib(lib).erfinv(a * 0.6), one()),
    OpCase("i0", lambda lib, a: _lib(lib).i0(a * 5), one()),
    OpCase("i1", lambda lib, a: _lib(lib).i1(a * 5), one()),
    OpCase("sinc", lambda lib, a: _lib(lib).sinc(a * 2), one()),
    OpCase("xlog1py", lambda lib, a, b: _lib(lib).xlog1py(a, b), fixed((3, 2), (2,)), "positive"),
]
# Without numba (MINIDL_NUMBA=0) erf and erfc fall back to a formula good to 1.2e-7 relative.
FALLBACK_ERF = {"erfc": 2e-7, "erfinv": 2e-7} if not cpu_kernels.ENABLED else {}
# torch's trigamma keeps only three Bernoulli terms (relative error ~1e-9): its own tolerance.
LOOSE = {"digamma": 1e-8}

SETTINGS = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _inputs(case, data):
    shapes = data.draw(case.shapes, label="shapes")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    return [values(shape, case.domain, rng) for shape in shapes]


def _tensors(arrays):
    return [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(data=st.data())
def test_gradcheck_and_gradgradcheck(case, data):
    xs = _tensors(_inputs(case, data))
    assert gradcheck(lambda *t: case.fn(md, *t), xs)
    if case.second_order:
        assert gradgradcheck(lambda *t: case.fn(md, *t), xs)


@requires_torch
@pytest.mark.parametrize("case", CASES, ids=repr)
@SETTINGS
@given(data=st.data())
def test_matches_torch(case, data):
    arrays = _inputs(case, data)
    xs, ts = _tensors(arrays), [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = case.fn(md, *xs), case.fn(torch, *ts)
    rtol = FALLBACK_ERF.get(case.name, 1e-12)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=1e-13)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    out.backward(md.tensor(upstream, dtype=md.float64))
    expected.backward(torch.tensor(upstream))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=max(rtol, LOOSE.get(case.name, 1e-11)),
                                   atol=1e-12)


def _compare(md_fn, torch_fn, data, grad=True, rtol=1e-12, atol=1e-13):
    """Values (and gradients of ``sum(out * upstream)``) of one float64 input against torch."""
    x, t = md.tensor(data, dtype=md.float64, requires_grad=grad), torch.tensor(data, requires_grad=grad)
    out, expected = md_fn(x), torch_fn(t)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    if grad:
        upstream = np.arange(1.0, 1.0 + out.numel()).reshape(out.shape)
        out.backward(md.tensor(upstream, dtype=md.float64))
        expected.backward(torch.tensor(upstream))
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)


# ---- cumulative ---------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("row", [[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 0.0, 1.5, 2.0],
                                 [1.5, 2.0, -3.0, 0.0], [0.0, 2.0, 3.0, 4.0]])
def test_cumprod_gradient_with_zeros(row):
    data = np.array([row, np.arange(1.0, len(row) + 1)])
    _compare(lambda x: cumulative.cumprod(x, 1), lambda t: torch.cumprod(t, 1), data)
    _compare(lambda x: cumulative.cumprod(x.T, 0), lambda t: torch.cumprod(t.T, 0), data)


@requires_torch
def test_cumprod_gradient_with_a_zero_under_create_graph():
    """First derivatives in a differentiable graph are PyTorch's; second derivatives at an exact zero are
    not (the gradient past the first zero is a constant 0 here: see CumProd's docstring)."""
    data = np.array([2.0, 0.0, 3.0, 0.5])
    x, t = md.tensor(data, dtype=md.float64, requires_grad=True), torch.tensor(data, requires_grad=True)
    (g,) = md.autograd.grad(cumulative.cumprod(x, 0).sum(), x, create_graph=True)
    (expected,) = torch.autograd.grad(torch.cumprod(t, 0).sum(), t, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), expected.detach().numpy())
    assert g.requires_grad


@requires_torch
@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin_ties_and_nan_match_torch(name):
    data = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, np.nan, 5.0, np.nan], [2.0, 1.0, 1.0, 2.0, 1.0, 0.0, 0.0, 4.0]])
    for dim in (0, 1):
        values, indices = getattr(cumulative, name)(md.tensor(data, dtype=md.float64), dim)
        expected = getattr(torch, name)(torch.tensor(data), dim)
        np.testing.assert_array_equal(values.numpy(), expected.values.numpy())
        np.testing.assert_array_equal(indices.numpy(), expected.indices.numpy())
    ties = data[1:]  # gradients go to the index taken, added up
    _compare(lambda x: getattr(cumulative, name)(x, 1).values, lambda t: getattr(torch, name)(t, 1).values, ties)
    integers = md.tensor([[3, 1, 1, 2, 1]])
    out = getattr(cumulative, name)(integers, 1)
    expected = getattr(torch, name)(torch.tensor([[3, 1, 1, 2, 1]]), 1)
    assert out.values.dtype == md.int64 and out.indices.tolist() == expected.indices.tolist()


@requires_torch
def test_logcumsumexp_huge_values_and_hillis_steele_scan():
    data = np.array([[-1000.0, 0.0, 1000.0, -np.inf, 999.0], [700.0, 710.0, -710.0, 720.0, 1e4]])
    _compare(lambda x: cumulative.logcumsumexp(x, 1), lambda t: torch.logcumsumexp(t, 1), data)
    rng = np.random.default_rng(0)
    for length in (1, 2, 5, 17):
        x = rng.standard_normal((3, length)) * 300
        np.testing.assert_allclose(_scan_like_cupy(x, 1), np.logaddexp.accumulate(x, 1), rtol=1e-14)


def _scan_like_cupy(x, axis):
    """Run the CuPy branch of ``log_add_exp_scan`` on NumPy by handing it a module that is not NumPy."""
    fake = types.SimpleNamespace(moveaxis=np.moveaxis, logaddexp=np.logaddexp)
    original = cumulative.array_module
    cumulative.array_module = lambda _: fake
    try:
        return cumulative.log_add_exp_scan(x, axis)
    finally:
        cumulative.array_module = original


@requires_torch
def test_diff_matches_torch():
    data = np.arange(12.0).reshape(3, 4) ** 2
    for n, dim in [(0, 1), (1, 0), (3, 1), (5, 1)]:
        _compare(lambda x, n=n, dim=dim: cumulative.diff(x, n, dim), lambda t, n=n, dim=dim: torch.diff(t, n, dim),
                 data, grad=n < 4)
    flags = md.tensor([True, False, False, True])
    assert cumulative.diff(flags).tolist() == torch.diff(torch.tensor([True, False, False, True])).tolist()


def test_cumulative_errors_name_the_op():
    x = md.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="logcumsumexp"):
        cumulative.logcumsumexp(x, 0)
    with pytest.raises(IndexError, match="cumprod"):
        cumulative.cumprod(x, 1)
    with pytest.raises(ValueError, match="diff"):
        cumulative.diff(x, n=-1)
    with pytest.raises(ValueError, match="diff"):
        cumulative.diff(md.tensor(1.0))
    with pytest.raises(ValueError, match="diff: prepend"):
        cumulative.diff(md.tensor([[1.0, 2.0]]), prepend=md.tensor(1.0))
    assert cumulative.cumprod(x, 0).tolist() == [1, 2, 6] and cumulative.cumprod(x, 0).dtype == md.int64


# ---- special ------------------------------------------------------------------------------------

WIDE = np.concatenate([np.linspace(-30.3, 30.1, 301), np.geomspace(1e-8, 1e12, 60), -np.geomspace(1e-8, 3, 30) - 0.5])


@requires_torch
def test_lgamma_digamma_wide_range():
    _compare(special.lgamma, torch.lgamma, WIDE, rtol=1e-13, atol=1e-13)
    away = WIDE[np.abs(WIDE - np.round(WIDE)) > 1e-3]  # torch's digamma loses digits next to the poles
    _compare(special.digamma, torch.digamma, away, grad=False, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(special.lgamma_lanczos(np, WIDE), torch.lgamma(torch.tensor(WIDE)).numpy(),
                               rtol=1e-13, atol=1e-13)
    poles = md.tensor([0.0, -0.0, -1.0, -2.0], dtype=md.float64)
    assert special.lgamma(poles).tolist() == [math.inf] * 4
    assert special.digamma(poles).tolist()[:2] == [-math.inf, math.inf]
    assert np.isnan(special.digamma(poles).numpy()[2:]).all()


def test_gamma_family_known_values_and_near_poles():
    euler = 0.5772156649015329
    got = special.digamma(md.tensor([1.0, 0.5, 2.0], dtype=md.float64)).numpy()
    np.testing.assert_allclose(got, [-euler, -euler - 2 * math.log(2), 1 - euler], rtol=1e-15)
    trigamma = special.polygamma(1, md.tensor([1.0, 0.5, -0.5], dtype=md.float64)).numpy()
    np.testing.assert_allclose(trigamma, [math.pi**2 / 6, math.pi**2 / 2, math.pi**2 / 2 + 4], rtol=1e-14)
    near = np.array([-1 + 1e-9, -3 - 1e-7, -5.5, 1e-9])  # psi(x) = psi(x + 1) - 1/x, exactly
    shifted = special.digamma(md.tensor(near + 1, dtype=md.float64)).numpy() - 1 / near
    np.testing.assert_allclose(special.digamma(md.tensor(near, dtype=md.float64)).numpy(), shifted, rtol=1e-7)
    x = np.linspace(-7.73, 9.3, 41)  # the series against a direct sum of 1 / (x + k)^2
    direct = (1 / (x[:, None] + np.arange(2000)) ** 2).sum(1)
    direct += special.polygamma(1, md.tensor(x + 2000, dtype=md.float64)).numpy()
    np.testing.assert_allclose(special.polygamma(1, md.tensor(x, dtype=md.float64)).numpy(), direct, rtol=1e-13)


@requires_torch
@pytest.mark.skipif(not cpu_kernels.ENABLED, reason="full accuracy needs the C library's erf/erfc (numba)")
def test_erfinv_near_one_and_erfc_large_x():
    near_one = 1 - np.geomspace(1e-16, 0.5, 40)
    data = np.concatenate([np.linspace(-0.99, 0.99, 99), near_one, -near_one, [1.0, -1.0]])
    _compare(special.erfinv, torch.erfinv, data, rtol=1e-13, atol=1e-14)
    y = special.erfinv(md.tensor(near_one, dtype=md.float64)).numpy()
    np.testing.assert_allclose(cpu_kernels.erfc(y), 1 - near_one, rtol=1e-13)
    assert np.isnan(special.erfinv(md.tensor([1.5, -2.0])).numpy()).all()
    large = np.concatenate([np.linspace(-5, 26, 63), [0.5, 0.7]])
    _compare(special.erfc, torch.erfc, large, rtol=1e-14, atol=0)


@requires_torch
def test_erfc_fallback_has_no_cancellation():
    large = np.linspace(-5, 26, 63)
    np.testing.assert_allclose(_erfc_without_kernels(large), torch.erfc(torch.tensor(large)).numpy(), rtol=2e-7)


def _erfc_without_kernels(x):
    enabled, cpu_kernels.ENABLED = cpu_kernels.ENABLED, False
    try:
        return special._erfc(np, x)
    finally:
        cpu_kernels.ENABLED = enabled


@requires_torch
def test_i0_i1_sinc_xlog1py_values():
    wide = np.linspace(-700, 700, 281)
    _compare(special.i0, torch.i0, wide, rtol=1e-13, atol=0)
    _compare(special.i1, torch.special.i1, wide, rtol=1e-13, atol=0)
    _compare(special.sinc, torch.sinc, np.concatenate([np.linspace(-9.7, 9.7, 41), [0.0]]))
    a, b = np.array([0.0, 0.0, 2.0, -1.5]), np.array([-1.0, np.nan, 0.0, 3.0])
    got = special.xlog1py(md.tensor(a, dtype=md.float64), md.tensor(b, dtype=md.float64))
    np.testing.assert_array_equal(got.numpy(), torch.special.xlog1py(torch.tensor(a), torch.tensor(b)).numpy())


def test_float32_kept_and_integers_promoted():
    x = md.tensor([0.3, 0.7, 1.9], requires_grad=True)
    outputs = [special.lgamma(x), special.digamma(x), special.polygamma(1, x), special.erfc(x), special.erfinv(x * 0.5),
               special.i0(x), special.i1(x), special.sinc(x), special.xlog1py(x, 0.5), cumulative.cumprod(x, 0),
               cumulative.cummax(x, 0).values, cumulative.logcumsumexp(x, 0), cumulative.diff(x)]
    for y in outputs:
        assert y.dtype == md.float32, y
    sum(y.sum() for y in outputs).backward()
    assert x.grad.dtype == md.float32
    integers = md.tensor([1, 2, 3])
    for function in (special.lgamma, special.digamma, special.erfc, special.erfinv, special.i0, special.sinc):
        assert function(integers).dtype == md.get_default_dtype()


def test_special_errors_name_the_op():
    with pytest.raises(ValueError, match="polygamma"):
        special.polygamma(-1, md.tensor([1.0]))


@requires_torch
def test_special_namespace_matches_torch_special():
    x = np.array([0.3, 1.7, 4.2, -2.5])
    ours, theirs = md.tensor(x, dtype=md.float64, requires_grad=True), torch.tensor(x, requires_grad=True)
    pairs = [(md.special.ndtr(ours), torch.special.ndtr(theirs)),
             (md.special.multigammaln(ours.abs() + 2, 3), torch.special.multigammaln(theirs.abs() + 2, 3)),
             (md.special.gammaln(ours), torch.special.gammaln(theirs)),
             (md.special.expit(ours), torch.special.expit(theirs)),
             (md.special.erf(ours), torch.special.erf(theirs))]
    for mine, reference in pairs:
        np.testing.assert_allclose(mine.detach().numpy(), reference.detach().numpy(), rtol=1e-13, atol=1e-15)
    sum(m.sum() for m, _ in pairs).backward()
    sum(t.sum() for _, t in pairs).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="p must be a positive integer"):
        md.special.multigammaln(ours, 0)
