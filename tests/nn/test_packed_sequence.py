"""Variable-length sequences (minidl/nn/utils/rnn.py) and packed input to the recurrent layers
(minidl/nn/modules/rnn.py): layouts, values and gradients against PyTorch, with PyTorch's weights
copied in by name, and the errors."""

import itertools

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck
from minidl.nn.modules.rnn import GRU, LSTM, RNN
from minidl.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

INPUT, HIDDEN = 3, 4
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


def _md(array, requires_grad=False):
    return md.tensor(array, dtype=md.float64, requires_grad=requires_grad)


def _torch(array, requires_grad=False):
    return torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad)


def _same_packed(mine, reference, rtol=0.0):
    np.testing.assert_allclose(mine.data.detach().numpy(), reference.data.detach().numpy(), rtol=rtol, atol=0)
    np.testing.assert_array_equal(mine.batch_sizes.numpy(), reference.batch_sizes.numpy())
    assert mine.batch_sizes.dtype == md.int64 and str(mine.batch_sizes.device) == "cpu"
    for mine_indices, reference_indices in ((mine.sorted_indices, reference.sorted_indices),
                                            (mine.unsorted_indices, reference.unsorted_indices)):
        if reference_indices is None:
            assert mine_indices is None
        else:
            np.testing.assert_array_equal(mine_indices.numpy(), reference_indices.numpy())


# ---- packing and padding -----------------------------------------------------------------------

LENGTH_CASES = [[5, 3, 3, 1], [2, 5, 1, 5, 3], [4], [3, 3, 3]]


@requires_torch
@pytest.mark.parametrize("lengths", LENGTH_CASES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_torch(lengths, batch_first, rng):
    steps, batch = max(lengths) + 1, len(lengths)
    x = rng.standard_normal((batch, steps, 2) if batch_first else (steps, batch, 2))
    enforce_options = [True, False] if lengths == sorted(lengths, reverse=True) else [False]
    for enforce_sorted in enforce_options:
        reference = torch.nn.utils.rnn.pack_padded_sequence(_torch(x), torch.tensor(lengths), batch_first,
                                                            enforce_sorted)
        mine = pack_padded_sequence(_md(x), lengths, batch_first, enforce_sorted)
        _same_packed(mine, reference)
        for total_length in (None, steps + 2):
            padded_t, lengths_t = torch.nn.utils.rnn.pad_packed_sequence(reference, batch_first, -1.5, total_length)
            padded_m, lengths_m = pad_packed_sequence(mine, batch_first, -1.5, total_length)
            np.testing.assert_array_equal(padded_m.numpy(), padded_t.numpy())
            np.testing.assert_array_equal(lengths_m.numpy(), lengths_t.numpy())
            assert lengths_m.dtype == md.int64


@requires_torch
@pytest.mark.parametrize("batch_first, padding_side", list(itertools.product([False, True], ["right", "left"])))
def test_pad_sequence_matches_torch(batch_first, padding_side, rng):
    arrays = [rng.standard_normal((length, 2, 3)) for length in (2, 5, 1, 5)]
    reference = torch.nn.utils.rnn.pad_sequence([_torch(a) for a in arrays], batch_first, 7.0, padding_side)
    mine = pad_sequence([_md(a) for a in arrays], batch_first, 7.0, padding_side)
    np.testing.assert_array_equal(mine.numpy(), reference.numpy())


@requires_torch
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_match_torch(enforce_sorted, rng):
    lengths = [4, 3, 3, 1] if enforce_sorted else [1, 4, 3, 4]
    arrays = [rng.standard_normal((length, 2)) for length in lengths]
    reference = torch.nn.utils.rnn.pack_sequence([_torch(a) for a in arrays], enforce_sorted)
    mine = pack_sequence([_md(a) for a in arrays], enforce_sorted)
    _same_packed(mine, reference)
    for array, sequence in zip(arrays, unpack_sequence(mine)):
        np.testing.assert_array_equal(sequence.numpy(), array)
    padded = pad_sequence([_md(a) for a in arrays], batch_first=True)
    for array, sequence in zip(arrays, unpad_sequence(padded, md.tensor(lengths), batch_first=True)):
        np.testing.assert_array_equal(sequence.numpy(), array)


def test_integer_data_and_the_documented_layout():
    packed = pack_sequence([md.tensor([1, 2, 3]), md.tensor([4]), md.tensor([5, 6])], enforce_sorted=False)
    assert packed.data.tolist() == [1, 5, 4, 2, 6, 3] and packed.batch_sizes.tolist() == [3, 2, 1]
    assert packed.sorted_indices.tolist() == [0, 2, 1] and packed.unsorted_indices.tolist() == [0, 2, 1]
    assert isinstance(packed, tuple) and packed._fields == ("data", "batch_sizes", "sorted_indices",
                                                            "unsorted_indices")
    as_float = packed.double()
    assert isinstance(as_float, PackedSequence) and as_float.data.dtype == md.float64
    assert as_float.sorted_indices is packed.sorted_indices and packed.cpu() is packed


@pytest.mark.parametrize("batch_first", [False, True])
def test_gradients_flow_through_pack_and_pad(batch_first, rng):
    lengths = [2, 4, 1]
    x = _md(rng.standard_normal((3, 4, 2) if batch_first else (4, 3, 2)), requires_grad=True)

    def round_trip(x):
        packed = pack_padded_sequence(x, lengths, batch_first, enforce_sorted=False)
        return pad_packed_sequence(PackedSequence(packed.data * packed.data, *packed[1:]), batch_first, 3.0)[0]

    assert gradcheck(round_trip, (x,))
    round_trip(x).sum().backward()
    expected = 2 * x.detach().numpy()
    for b, length in enumerate(lengths):  # padding steps were never read, so they get no gradient
        if batch_first:
            expected[b, length:] = 0
        else:
            expected[length:, b] = 0
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_gradients_flow_through_pad_sequence_and_unpack(rng):
    sequences = [_md(rng.standard_normal((length, 2)), requires_grad=True) for length in (3, 1, 2)]
    assert gradcheck(lambda *s: pad_sequence(list(s), padding_side="left") * 2.0, tuple(sequences))
    packed = pack_sequence(sequences, enforce_sorted=False)
    assert gradcheck(lambda d: tuple(unpack_sequence(PackedSequence(d * d, *packed[1:]))), (packed.data,))


def test_errors_name_the_function():
    x = md.zeros(4, 3, 2)
    with pytest.raises(ValueError, match="pack_padded_sequence: lengths must be sorted in decreasing order"):
        pack_padded_sequence(x, [2, 3, 1])
    with pytest.raises(ValueError, match="pack_padded_sequence: every sequence length must be greater than 0"):
        pack_padded_sequence(x, [3, 2, 0])
    with pytest.raises(ValueError, match="pack_padded_sequence: every sequence length must be greater than 0"):
        pack_sequence([md.zeros(2, 1), md.zeros(0, 1)], enforce_sorted=False)
    with pytest.raises(ValueError, match=r"pack_padded_sequence: expected len\(lengths\) to be the batch size 3"):
        pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="pack_padded_sequence: a length exceeds the 4 padded steps"):
        pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(ValueError, match="pad_packed_sequence: expected total_length to be at least"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 2, 1]), total_length=2)
    with pytest.raises(ValueError, match="pad_sequence: received an empty list"):
        pad_sequence([])
    with pytest.raises(ValueError, match="pad_sequence: padding_side must be 'left' or 'right'"):
        pad_sequence([md.zeros(2)], padding_side="up")
    with pytest.raises(ValueError, match=r"pad_sequence: every sequence must be \(L, \*\(3,\)\)"):
        pad_sequence([md.zeros(2, 3), md.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"LSTM: expected packed data \(N, 3\)"):
        LSTM(INPUT, HIDDEN)(pack_sequence([md.zeros(2, 5)]))
    with pytest.raises(ValueError, match=r"GRU: expected h_0 of shape \(1, 2, 4\)"):
        GRU(INPUT, HIDDEN)(pack_sequence([md.zeros(2, 3), md.zeros(1, 3)]), md.zeros(1, 3, HIDDEN))


# ---- recurrent layers on packed input ---------------------------------------------------------

PACKED_CASES = [
    ("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {}),
]


def _pair(name, **kwargs):
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(INPUT, HIDDEN, **kwargs).double()
    mine = LAYERS[name](INPUT, HIDDEN, dtype=md.float64, **kwargs)
    mine.load_state_dict({n: md.from_numpy(p.detach().numpy()) for n, p in reference.state_dict().items()})
    return reference, mine


@requires_torch
@pytest.mark.parametrize("name, kwargs", PACKED_CASES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_states", [False, True])
def test_packed_layer_matches_torch(name, kwargs, batch_first, with_states, rng):
    """Two layers, bidirectional, unsorted lengths with repeats; outputs after padding back, final
    states and the gradients of the input, the initial states and every parameter."""
    reference, mine = _pair(name, num_layers=2, bidirectional=True, batch_first=batch_first, **kwargs)
    lengths = [3, 5, 1, 5, 2]
    steps, batch = max(lengths), len(lengths)
    x = rng.standard_normal((batch, steps, INPUT) if batch_first else (steps, batch, INPUT))
    states = [rng.standard_normal((4, batch, HIDDEN)) for _ in range(2 if name == "LSTM" else 1)] if with_states else []
    inputs_t = [_torch(a, requires_grad=True) for a in (x, *states)]
    inputs_m = [_md(a, requires_grad=True) for a in (x, *states)]

    def run(module, nn_utils, inputs):
        packed = nn_utils.pack_padded_sequence(inputs[0], lengths, batch_first, enforce_sorted=False)
        hx = None if not states else (tuple(inputs[1:]) if name == "LSTM" else inputs[1])
        output, final = module(packed, hx)
        padded, _ = nn_utils.pad_packed_sequence(output, batch_first, total_length=steps)
        return (padded, *(final if name == "LSTM" else (final,)))

    outputs_t = run(reference, torch.nn.utils.rnn, inputs_t)
    outputs_m = run(mine, md.nn.utils.rnn, inputs_m)
    loss_t = loss_m = 0
    for a, b in zip(outputs_t, outputs_m, strict=True):
        assert tuple(b.shape) == tuple(a.shape)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-9, atol=1e-12)
        weights = rng.standard_normal(tuple(a.shape))
        loss_t = loss_t + (a * torch.tensor(weights)).sum()
        loss_m = loss_m + (b * _md(weights)).sum()
    loss_t.backward()
    loss_m.backward()
    for a, b in zip(inputs_t, inputs_m):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-9, atol=1e-12)
    grads_t = dict(reference.named_parameters())
    for param_name, p in mine.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_t[param_name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=param_name)


@requires_torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_packed_sorted_single_layer_matches_torch(name, rng):
    reference, mine = _pair(name, bias=False)
    arrays = [rng.standard_normal((length, INPUT)) for length in (4, 4, 2, 1)]
    output_t, final_t = reference(torch.nn.utils.rnn.pack_sequence([_torch(a) for a in arrays]))
    output_m, final_m = mine(pack_sequence([_md(a) for a in arrays]))
    _same_packed(output_m, output_t, rtol=1e-12)
    for a, b in zip(final_t if name == "LSTM" else (final_t,), final_m if name == "LSTM" else (final_m,)):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-12)


def test_packed_output_equals_running_each_sequence_alone(rng):
    """Padding never leaks: each sequence's output and final state are those of running it by itself."""
    gru = GRU(INPUT, HIDDEN, num_layers=2, bidirectional=True, dtype=md.float64)
    arrays = [rng.standard_normal((length, INPUT)) for length in (2, 4, 3)]
    output, h_n = gru(pack_sequence([_md(a) for a in arrays], enforce_sorted=False))
    for b, (array, sequence) in enumerate(zip(arrays, unpack_sequence(output))):
        alone, h_alone = gru(_md(array))
        np.testing.assert_allclose(sequence.detach().numpy(), alone.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(h_n[:, b].detach().numpy(), h_alone.detach().numpy(), rtol=1e-12)
