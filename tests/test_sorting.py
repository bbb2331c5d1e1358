"""Sorting and searching (minidl/ops/sorting.py): PyTorch as the oracle for values, indices (stable
order, ties, NaN placement, descending, negative dims, integer dtypes) and the gradients of the
values outputs; float64 numerical first and second derivatives; the error messages."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck, gradgradcheck
from minidl.ops.sorting import argsort, bucketize, histc, kthvalue, median, nonzero, sort, topk, unique

NAN = float("nan")


def _md(array, requires_grad=False, device="cpu"):
    array = np.asarray(array)
    return md.tensor(array, dtype=array.dtype, device=device, requires_grad=requires_grad)


def _np(tensor):
    return tensor.detach().cpu().numpy()


def _same(ours, theirs):
    """Equal values and dtypes, NaN equal to NaN."""
    theirs = theirs.detach().numpy()
    ours = _np(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(ours, theirs)


def _distinct(rng, *shape):
    """float64 values that are all different (and well apart, for finite differences)."""
    return rng.permutation(np.prod(shape, dtype=int)).reshape(shape) * 0.5 + rng.uniform(0, 0.1, shape)


# Inputs with ties (stable order matters), NaNs (sorted as the largest) and integer dtypes.
TIES = np.array([[3.0, 1.0, 2.0, 1.0, 3.0, 2.0], [0.0, 0.0, -1.0, 5.0, 0.0, -1.0]])
NANS = np.array([[3.0, NAN, 1.0, 3.0, NAN, 2.0], [NAN, 1.0, NAN, -np.inf, np.inf, 1.0]])
ARRAYS = {
    "ties": TIES,
    "nans": NANS,
    "int64": np.array([[5, -2, 7, -2], [0, 9, 9, 1], [3, 3, 3, 3]], dtype=np.int64),
    "uint8": np.array([[3, 0, 255, 3, 1], [200, 200, 0, 255, 7]], dtype=np.uint8),
    "bool": np.array([True, False, True, False]),
    "3d": np.random.default_rng(1).integers(0, 4, (3, 4, 5)).astype(np.float64),
}


# ---- sort / argsort ---------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_sort_matches_torch_stable(name, dim, descending):
    array = ARRAYS[name]
    ours = sort(_md(array), dim=dim, descending=descending)
    theirs = torch.sort(torch.from_numpy(array), dim=dim, descending=descending, stable=True)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)
    _same(argsort(_md(array), dim, descending=descending), torch.argsort(torch.from_numpy(array), dim=dim,
                                                                          descending=descending, stable=True))


@requires_torch
def test_sort_middle_dim_and_zero_dim():
    array = ARRAYS["3d"]
    for dim in (1, -2):
        ours = sort(_md(array), dim, descending=True)
        theirs = torch.sort(torch.from_numpy(array), dim=dim, descending=True, stable=True)
        _same(ours.values, theirs.values)
        _same(ours.indices, theirs.indices)
    scalar = np.array(2.5)
    _same(sort(_md(scalar)).values, torch.sort(torch.from_numpy(scalar)).values)
    _same(sort(_md(scalar)).indices, torch.sort(torch.from_numpy(scalar)).indices)
    empty = np.zeros((2, 0))
    _same(sort(_md(empty), 1).values, torch.sort(torch.from_numpy(empty), 1).values)


def test_nan_placement():
    values = sort(_md(np.array([NAN, 1.0, NAN, -1.0]))).values
    assert np.isnan(_np(values)[2:]).all() and _np(values)[:2].tolist() == [-1.0, 1.0]
    values, indices = sort(_md(np.array([NAN, 1.0, NAN, -1.0])), descending=True)
    assert np.isnan(_np(values)[:2]).all() and _np(indices).tolist() == [0, 2, 1, 3]


@requires_torch
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sort_hypothesis(data):
    array = data.draw(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5),
                             elements=st.sampled_from([-1.0, 0.0, 2.5, np.inf, NAN])))
    dim = data.draw(st.integers(-array.ndim, array.ndim - 1))
    descending = data.draw(st.booleans())
    ours = sort(_md(array), dim, descending)
    theirs = torch.sort(torch.from_numpy(array), dim=dim, descending=descending, stable=True)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)


# ---- topk / kthvalue / median: values and indices ----------------------------------------------


@requires_torch
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("dim,k", [(-1, 1), (-1, 3), (0, 2), (1, 4), (1, 0)])
def test_topk_distinct_matches_torch(rng, dim, k, largest):
    array = _distinct(rng, 3, 4, 5)
    ours = topk(_md(array), k, dim, largest)
    theirs = torch.topk(torch.from_numpy(array), k, dim, largest)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)


@requires_torch
@pytest.mark.parametrize("name", ["ties", "nans", "int64", "uint8"])
def test_topk_with_ties(name):
    # Which of two equal elements PyTorch picks is unspecified: compare values, check the indices point at them.
    array = ARRAYS[name]
    for largest in (True, False):
        ours = topk(_md(array), 3, largest=largest)
        _same(ours.values, torch.topk(torch.from_numpy(array), 3, largest=largest).values)
        np.testing.assert_array_equal(np.take_along_axis(array, _np(ours.indices), -1), _np(ours.values))
    assert _np(topk(_md(TIES), 2).indices).tolist() == [[0, 4], [3, 0]]  # ties: first in input first


@requires_torch
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim,k", [(-1, 1), (-1, 5), (0, 2), (-3, 3), (1, 4)])
def test_kthvalue_distinct_matches_torch(rng, dim, k, keepdim):
    array = _distinct(rng, 3, 4, 5)
    ours = kthvalue(_md(array), k, dim, keepdim)
    theirs = torch.kthvalue(torch.from_numpy(array), k, dim, keepdim)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)


@requires_torch
@pytest.mark.parametrize("name", ["ties", "nans", "int64", "uint8", "3d"])
def test_kthvalue_and_median_with_ties_and_nans(name):
    array = ARRAYS[name]
    tensor = torch.from_numpy(array)
    for k in range(1, array.shape[-1] + 1):
        ours = kthvalue(_md(array), k)
        _same(ours.values, torch.kthvalue(tensor, k).values)
        np.testing.assert_array_equal(np.take_along_axis(array, _np(ours.indices)[..., None], -1)[..., 0],
                                      _np(ours.values))
    for dim in range(-array.ndim, array.ndim):
        ours = median(_md(array), dim, keepdim=True)
        _same(ours.values, torch.median(tensor, dim, keepdim=True).values)
    _same(median(_md(array)), torch.median(tensor))


@requires_torch
def test_median_nan_index_is_the_first_nan():
    ours = median(_md(NANS), 1)
    theirs = torch.median(torch.from_numpy(NANS), 1)
    _same(ours.values, theirs.values)
    _same(ours.indices, theirs.indices)
    assert _np(ours.indices).tolist() == [1, 0]


@requires_torch
@pytest.mark.parametrize("shape", [(7,), (6,), (4, 5), (2, 3, 4)])
def test_median_distinct_matches_torch(rng, shape):
    array = _distinct(rng, *shape)
    _same(median(_md(array)), torch.median(torch.from_numpy(array)))
    for dim in range(-len(shape), len(shape)):
        for keepdim in (False, True):
            ours = median(_md(array), dim, keepdim)
            theirs = torch.median(torch.from_numpy(array), dim, keepdim)
            _same(ours.values, theirs.values)
            _same(ours.indices, theirs.indices)


@requires_torch
def test_zero_dim_inputs():
    scalar = np.array(4.0)
    tensor = torch.from_numpy(scalar)
    for ours, theirs in [(topk(_md(scalar), 1), torch.topk(tensor, 1)),
                         (kthvalue(_md(scalar), 1, 0, True), torch.kthvalue(tensor, 1, 0, True)),
                         (median(_md(scalar), 0), torch.median(tensor, 0))]:
        _same(ours.values, theirs.values)
        _same(ours.indices, theirs.indices)
    _same(median(_md(scalar)), torch.median(tensor))
    _same(median(_md(np.zeros(0))), torch.median(torch.zeros(0, dtype=torch.float64)))


# ---- gradients --------------------------------------------------------------------------------


def _values(fn):
    return lambda x: fn(x).values


VALUE_OPS = {
    "sort": (lambda x: sort(x, 1), lambda x: torch.sort(x, 1)),
    "sort_desc": (lambda x: sort(x, 0, descending=True), lambda x: torch.sort(x, 0, descending=True)),
    "topk": (lambda x: topk(x, 2, -1), lambda x: torch.topk(x, 2, -1)),
    "topk_smallest": (lambda x: topk(x, 3, 0, largest=False), lambda x: torch.topk(x, 3, 0, largest=False)),
    "kthvalue": (lambda x: kthvalue(x, 2, 1, keepdim=True), lambda x: torch.kthvalue(x, 2, 1, keepdim=True)),
    "median_dim": (lambda x: median(x, -2), lambda x: torch.median(x, -2)),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(VALUE_OPS))
def test_value_gradients_match_torch(name, rng):
    ours_fn, torch_fn = VALUE_OPS[name]
    array = _distinct(rng, 4, 5)
    x = _md(array, requires_grad=True)
    values = ours_fn(x).values
    weights = rng.standard_normal(values.shape)
    (values * _md(weights)).sum().backward()
    t = torch.from_numpy(array).requires_grad_()
    (torch_fn(t).values * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), t.grad.numpy())


@requires_torch
@pytest.mark.parametrize("array", [np.array([1.0, 2.0, 2.0, 3.0, 2.0]), np.array([1.0, 2.0, 2.0, 3.0, NAN, NAN]),
                                   np.array([[5.0, 1.0], [4.0, 0.0]])])
def test_median_all_gradient_is_shared_by_ties_as_in_torch(array):
    x = _md(array, requires_grad=True)
    (median(x) * 3.0).backward()
    t = torch.from_numpy(array).requires_grad_()
    (torch.median(t) * 3.0).backward()
    np.testing.assert_allclose(_np(x.grad), t.grad.numpy())


@requires_torch
def test_sort_gradient_with_ties_follows_the_indices(rng):
    # With stable=True PyTorch's indices are ours, so the gradients (sent along the indices) agree too.
    x = _md(TIES, requires_grad=True)
    weights = rng.standard_normal(TIES.shape)
    (sort(x, descending=True).values * _md(weights)).sum().backward()
    t = torch.from_numpy(TIES).requires_grad_()
    (torch.sort(t, descending=True, stable=True).values * torch.from_numpy(weights)).sum().backward()
    np.testing.assert_array_equal(_np(x.grad), t.grad.numpy())


@pytest.mark.parametrize("name", sorted(VALUE_OPS))
def test_value_gradcheck_and_gradgradcheck(name, rng):
    fn = _values(VALUE_OPS[name][0])
    x = _md(_distinct(rng, 4, 5), requires_grad=True)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_median_all_gradcheck_and_gradgradcheck(rng):
    x = _md(_distinct(rng, 3, 5), requires_grad=True)
    assert gradcheck(median, (x,))
    assert gradgradcheck(median, (x,))


def test_indices_and_counting_results_have_no_gradient(rng):
    x = _md(_distinct(rng, 3, 4), requires_grad=True)
    assert sort(x).values.requires_grad and not sort(x).indices.requires_grad
    assert not argsort(x).requires_grad and not unique(x).requires_grad
    assert not histc(x, 4).requires_grad and not nonzero(x).requires_grad


# ---- unique / nonzero / bucketize / histc -----------------------------------------------------

UNIQUE_ARRAYS = {
    "ints": np.array([[3, 1, 2], [1, 3, 3], [3, 1, 2], [0, 0, 0]], dtype=np.int64),
    "nans": np.array([3.0, NAN, 1.0, 3.0, NAN, 2.0, 1.0]),
    "rows_with_nan": np.array([[NAN, 1.0], [NAN, 1.0], [0.0, 2.0]]),
    "bool": np.array([True, False, True]),
    "scalar": np.array(5.0),
    "empty": np.zeros((0, 3)),
    "3d": np.random.default_rng(2).integers(0, 2, (3, 2, 4)).astype(np.uint8),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(UNIQUE_ARRAYS))
def test_unique_matches_torch(name):
    array = UNIQUE_ARRAYS[name]
    dims = [None] + [d for d in range(-array.ndim, array.ndim) if array.size or array.shape[d] == 0]
    if np.isnan(array).any():
        dims = [None]  # PyTorch's unique(dim=...) is unordered and splits equal slices around NaNs: see below
    for dim in dims:
        ours = unique(_md(array), return_inverse=True, return_counts=True, dim=dim)
        theirs = torch.unique(torch.from_numpy(array), return_inverse=True, return_counts=True, dim=dim)
        for a, b in zip(ours, theirs):
            _same(a, b)
    _same(unique(_md(array)), torch.unique(torch.from_numpy(array)))
    only_counts = unique(_md(array), return_counts=True)
    assert len(only_counts) == 2
    _same(only_counts[1], torch.unique(torch.from_numpy(array), return_counts=True)[1])


def test_unique_slices_with_nan():
    # Each NaN is distinct (NaN != NaN), as in PyTorch without dim; slices sort with NaN as the largest value.
    array = np.array([[0.0, 1.0], [NAN, 1.0], [NAN, 0.0], [0.0, 2.0], [-1.0, NAN], [0.0, 1.0]])
    values, inverse, counts = unique(_md(array), return_inverse=True, return_counts=True, dim=0)
    np.testing.assert_array_equal(_np(values), [[-1.0, NAN], [0.0, 1.0], [0.0, 2.0], [NAN, 0.0], [NAN, 1.0]])
    assert _np(inverse).tolist() == [1, 4, 3, 2, 0, 1] and _np(counts).tolist() == [1, 2, 1, 1, 1]
    values, inverse, counts = unique(_md(UNIQUE_ARRAYS["rows_with_nan"]), return_inverse=True, return_counts=True,
                                     dim=0)
    assert _np(inverse).tolist() == [1, 2, 0] and _np(counts).tolist() == [1, 1, 1]


@requires_torch
@pytest.mark.parametrize("array", [np.array([[0, 1, 0], [2, 0, 3]]), np.array([0.0, NAN, -0.0, 1.0]),
                                   np.array(3), np.array(0), np.zeros((2, 0, 3)),
                                   np.array([[[True, False]], [[False, True]]])])
def test_nonzero_matches_torch(array):
    _same(nonzero(_md(array)), torch.nonzero(torch.from_numpy(array)))
    ours = nonzero(_md(array), as_tuple=True)
    theirs = torch.nonzero(torch.from_numpy(array), as_tuple=True)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        _same(a, b)


@requires_torch
@pytest.mark.parametrize("right", [False, True])
def test_bucketize_matches_torch(right):
    boundaries = np.array([1.0, 3.0, 5.0, 7.0])
    values = np.array([[0.0, 1.0, 2.0, 3.0], [5.0, 7.0, 9.0, NAN]])
    edges = torch.from_numpy(boundaries)
    _same(bucketize(_md(values), _md(boundaries), right=right), torch.bucketize(torch.from_numpy(values), edges,
                                                                                  right=right))
    _same(bucketize(_md(values), _md(boundaries), out_int32=True, right=right),
          torch.bucketize(torch.from_numpy(values), edges, out_int32=True, right=right))
    ints = np.array([1, 3, 4, 8])
    _same(bucketize(_md(ints), _md(boundaries), right=right), torch.bucketize(torch.from_numpy(ints), edges,
                                                                                right=right))
    _same(bucketize(3, _md(boundaries), right=right), torch.bucketize(3, edges, right=right))


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bins,low,high", [(10, 0.0, 1.0), (7, -0.3, 0.9), (3, 0.0, 0.9), (5, 0, 0), (1, -1.0, 1.0)])
def test_histc_matches_torch(rng, dtype, bins, low, high):
    # Values on and near bin edges as well as random ones, outside the range and NaN.
    edges = np.linspace(-0.3, 1.0, 14)
    array = np.concatenate([rng.uniform(-0.5, 1.2, 200), edges, np.nextafter(edges, 2), [NAN] * (high != low)])
    array = array.astype(dtype)
    _same(histc(_md(array), bins, low, high), torch.histc(torch.from_numpy(array), bins, low, high))


@requires_torch
@pytest.mark.parametrize("array", [np.array([2.0, 2.0, 2.0]), np.array([1.0, 2.0]), np.zeros(0)])
def test_histc_data_range(array):
    _same(histc(_md(array), 4), torch.histc(torch.from_numpy(array), 4))
    _same(histc(_md(array), 4, 3, 3), torch.histc(torch.from_numpy(array), 4, 3, 3))


def test_on_device(device, rng):
    """The same results on every device (CuPy on a GPU), NaN and ties included."""
    array = np.concatenate([_distinct(rng, 2, 5), TIES[:, :5], NANS[:, :5]])
    x = _md(array, device=device)
    cpu = _md(array)
    for ours, expected in [(sort(x, 0, descending=True), sort(cpu, 0, descending=True)),
                           (topk(x, 2), topk(cpu, 2)), (kthvalue(x, 3, 0), kthvalue(cpu, 3, 0)),
                           (median(x, 1), median(cpu, 1))]:
        np.testing.assert_array_equal(_np(ours.values), _np(expected.values))
        np.testing.assert_array_equal(_np(ours.indices), _np(expected.indices))
    np.testing.assert_array_equal(_np(median(x)), _np(median(cpu)))
    for a, b in zip(unique(x, return_inverse=True, return_counts=True, dim=0),
                    unique(cpu, return_inverse=True, return_counts=True, dim=0)):
        np.testing.assert_array_equal(_np(a), _np(b))
    np.testing.assert_array_equal(_np(nonzero(x)), _np(nonzero(cpu)))
    np.testing.assert_array_equal(_np(histc(x, 5, -1, 3)), _np(histc(cpu, 5, -1, 3)))
    boundaries = _md(np.array([0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(_np(bucketize(x, boundaries.to(device))), _np(bucketize(cpu, boundaries)))


# ---- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("call,error,match", [
    (lambda x: topk(x, 7, dim=1), ValueError, r"topk: k \(7\) is out of range for dimension 1 of size 5"),
    (lambda x: topk(x, -1), ValueError, r"topk: k \(-1\) is out of range .*0 <= k <= 5"),
    (lambda x: kthvalue(x, 0), ValueError, r"kthvalue: k \(0\) is out of range .*1 <= k <= 5"),
    (lambda x: kthvalue(x, 6, -1), ValueError, r"kthvalue: k \(6\) is out of range for dimension 1 of size 5"),
    (lambda x: sort(x, 2), IndexError, r"sort: dimension 2 is out of range for a tensor of 2 dimensions"),
    (lambda x: argsort(x, -3), IndexError, r"argsort: dimension -3 is out of range"),
    (lambda x: median(x, 5), IndexError, r"median: dimension 5 is out of range"),
    (lambda x: median(x[:, :0], 1), ValueError, r"median: dimension 1 has size 0"),
    (lambda x: unique(x, dim=2), IndexError, r"unique: dimension 2 is out of range"),
    (lambda x: unique(x[:, :0], dim=0), ValueError, r"unique: a tensor of shape \(3, 0\)"),
    (lambda x: histc(x.to(md.int64)), TypeError, r"histc needs a floating point tensor, got int64"),
    (lambda x: histc(x, bins=0), ValueError, r"histc: bins must be a positive number, got 0"),
    (lambda x: histc(x, 4, 3, 1), ValueError, r"histc: max must be larger than min, got min=3 and max=1"),
    (lambda x: histc(md.tensor([1.0, float("inf")])), ValueError, r"histc: the range \[.*\] is not finite"),
    (lambda x: bucketize(x, x), ValueError, r"bucketize: boundaries must be a 1-D tensor, got \(3, 5\)"),
    (lambda x: sort(md.tensor(np.ones(3, np.complex64))), TypeError, r"sort: complex tensors have no order"),
])
def test_errors(call, error, match):
    x = _md(np.arange(15.0).reshape(3, 5))
    with pytest.raises(error, match=match):
        call(x)
