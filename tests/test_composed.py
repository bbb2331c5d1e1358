"""The composed ops' non-differentiable parts and errors (their gradients and values against PyTorch
are declared in tests/op_cases.py): comparisons, special values, and what bad arguments raise."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md

SPECIAL = np.array([0.0, -0.0, 1.5, -2.0, np.nan, np.inf, -np.inf], dtype=np.float32)


@requires_torch
def test_special_values_match_torch():
    x, t = md.tensor(SPECIAL), torch.tensor(SPECIAL)
    y, u = md.tensor(SPECIAL[::-1].copy()), torch.tensor(SPECIAL[::-1].copy())
    pairs = [
        (md.nan_to_num(x), torch.nan_to_num(t)),
        (md.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0), torch.nan_to_num(t, 1.0, 2.0, -3.0)),
        (md.xlogy(x, y), torch.xlogy(t, u)),
        (md.atan2(x, y), torch.atan2(t, u)),
        (md.fmod(x, y), torch.fmod(t, u)),
        (md.frac(x), torch.frac(t)),
        (md.isclose(x, y, equal_nan=True), torch.isclose(t, u, equal_nan=True)),
        (md.logical_xor(x, y), torch.logical_xor(t, u)),
        (md.addmm(md.full((2, 2), float("nan")), md.ones(2, 3), md.ones(3, 2), beta=0),
         torch.addmm(torch.full((2, 2), float("nan")), torch.ones(2, 3), torch.ones(3, 2), beta=0)),
    ]
    for ours, theirs in pairs:
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_take_reads_the_flattened_tensor_with_negative_indices():
    x = md.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(md.take(x, md.tensor([[0, -1], [4, 2]])).numpy(), [[0, 5], [4, 2]])


@pytest.mark.parametrize("call, error, message", [
    (lambda: md.narrow(md.ones(2, 4), 1, 3, 2), IndexError, "narrow: start 3 and length 2 are out of range"),
    (lambda: md.repeat_interleave(md.ones(3), md.tensor([1, 2])), ValueError, "1-D tensor of 3 counts"),
    (lambda: md.repeat_interleave(md.ones(2), -1), ValueError, "non-negative"),
    (lambda: md.repeat_interleave(md.ones(2), 2, output_size=3), ValueError, "output_size 3"),
    (lambda: md.diag(md.ones(2, 2, 2)), ValueError, "1-D or 2-D"),
    (lambda: md.diagonal(md.ones(2, 2), 0, 1, 1), ValueError, "dim1 and dim2 must differ"),
    (lambda: md.take(md.ones(2, 3), md.tensor([6])), IndexError, "take: index out of range"),
    (lambda: md.tensordot(md.ones(2, 3), md.ones(2, 3), 1), ValueError, "must pair up with equal sizes"),
    (lambda: md.tensordot(md.ones(2, 3), md.ones(3), 3), ValueError, r"dims must be in \[0, 1\]"),
    (lambda: md.index_add(md.ones(3, 2), 0, md.tensor([0, 1]), md.ones(3, 2)), ValueError, "one entry per slice"),
    (lambda: md.masked_select(md.ones(2), md.ones(2)), TypeError, "bool mask"),
    (lambda: md.rot90(md.ones(2, 2), 1, (0, 0)), ValueError, "must differ"),
    (lambda: md.meshgrid(md.ones(2), md.ones(2), indexing="yx"), ValueError, "'ij' or 'xy'"),
    (lambda: md.addmv(md.ones(2), md.ones(2, 2), md.ones(2, 1)), ValueError, "a matrix and a vector"),
])
def test_errors_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()
