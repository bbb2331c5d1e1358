"""Recurrent ops and layers (minidl/ops/rnn.py, minidl/nn/modules/rnn.py): float64 numerical
gradients of every recurrence, cell and a 2-layer bidirectional layer; PyTorch as the oracle for
outputs, final states and every gradient, with PyTorch's weights copied in by name."""

import itertools
import math

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
from minidl.autograd import gradcheck
from minidl.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minidl.ops.rnn import gru_recurrence, lstm_recurrence, rnn_recurrence

STEPS, BATCH, INPUT, HIDDEN = 4, 3, 5, 6
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
CELLS = {"RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}


def _tensor(rng, *shape, requires_grad=True):
    return md.tensor(rng.standard_normal(shape), dtype=md.float64, requires_grad=requires_grad)


def _flat(result):
    """(output, h_n) or (output, (h_n, c_n)) as a flat tuple of tensors."""
    out = []
    for item in result if isinstance(result, tuple) else (result,):
        out.extend(item if isinstance(item, tuple) else (item,))
    return tuple(out)


# ---- the fused recurrences ---------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_recurrence_gradcheck(kind, reverse, rng):
    gates = {"lstm": 4, "gru": 3}.get(kind, 1)
    gates_x = _tensor(rng, STEPS, BATCH, gates * HIDDEN)
    h_0 = _tensor(rng, BATCH, HIDDEN)
    weight_hh = _tensor(rng, gates * HIDDEN, HIDDEN)
    bias_hh = _tensor(rng, gates * HIDDEN)
    if kind == "lstm":
        c_0 = _tensor(rng, BATCH, HIDDEN)
        assert gradcheck(lambda *a: lstm_recurrence(*a, reverse=reverse), (gates_x, h_0, c_0, weight_hh, bias_hh))
    elif kind == "gru":
        assert gradcheck(lambda *a: gru_recurrence(*a, reverse=reverse), (gates_x, h_0, weight_hh, bias_hh))
    else:
        nonlinearity = kind.split("_")[1]
        assert gradcheck(lambda *a: rnn_recurrence(*a, nonlinearity=nonlinearity, reverse=reverse),
                         (gates_x, h_0, weight_hh, bias_hh))


def test_recurrence_without_bias(rng):
    gates_x, h_0, c_0 = _tensor(rng, STEPS, BATCH, 4 * HIDDEN), _tensor(rng, BATCH, HIDDEN), _tensor(rng, BATCH, HIDDEN)
    weight_hh = _tensor(rng, 4 * HIDDEN, HIDDEN)
    assert gradcheck(lambda *a: lstm_recurrence(*a, None), (gates_x, h_0, c_0, weight_hh))


def test_reverse_runs_the_steps_backwards(rng):
    gates_x, h_0 = _tensor(rng, STEPS, BATCH, 3 * HIDDEN), _tensor(rng, BATCH, HIDDEN)
    weight_hh, bias_hh = _tensor(rng, 3 * HIDDEN, HIDDEN), _tensor(rng, 3 * HIDDEN)
    forward_out, forward_h = gru_recurrence(gates_x.flip(0), h_0, weight_hh, bias_hh)
    reverse_out, reverse_h = gru_recurrence(gates_x, h_0, weight_hh, bias_hh, reverse=True)
    np.testing.assert_allclose(reverse_out.detach().numpy(), forward_out.flip(0).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(reverse_h.detach().numpy(), forward_h.detach().numpy(), rtol=1e-12)


def test_recurrence_shape_errors_name_the_argument(rng):
    gates_x, h_0 = _tensor(rng, STEPS, BATCH, 4 * HIDDEN), _tensor(rng, BATCH, HIDDEN)
    with pytest.raises(ValueError, match="lstm: expected weight_hh"):
        lstm_recurrence(gates_x, h_0, h_0, _tensor(rng, 3 * HIDDEN, HIDDEN))
    with pytest.raises(ValueError, match=r"lstm: expected a state of shape \(3, 6\)"):
        lstm_recurrence(gates_x, h_0, _tensor(rng, 2, HIDDEN), _tensor(rng, 4 * HIDDEN, HIDDEN))
    with pytest.raises(ValueError, match="sequence is empty"):
        gru_recurrence(_tensor(rng, 0, BATCH, 3 * HIDDEN), h_0, _tensor(rng, 3 * HIDDEN, HIDDEN))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        rnn_recurrence(_tensor(rng, STEPS, BATCH, HIDDEN), h_0, _tensor(rng, HIDDEN, HIDDEN), nonlinearity="gelu")


def test_double_backward_through_a_recurrence_raises(rng):
    gates_x, h_0 = _tensor(rng, STEPS, BATCH, HIDDEN), _tensor(rng, BATCH, HIDDEN)
    _, h_n = rnn_recurrence(gates_x, h_0, _tensor(rng, HIDDEN, HIDDEN))
    with pytest.raises(RuntimeError, match="second derivatives"):
        md.autograd.grad(h_n.sum(), gates_x, create_graph=True)


# ---- numerical gradients of the modules --------------------------------------------------------


@pytest.mark.parametrize("name", list(CELLS))
def test_cell_gradcheck(name, rng):
    cell = CELLS[name](INPUT, HIDDEN, dtype=md.float64)
    x = _tensor(rng, BATCH, INPUT)
    h = _tensor(rng, BATCH, HIDDEN)
    params = list(cell.parameters())
    if name == "LSTMCell":
        c = _tensor(rng, BATCH, HIDDEN)
        assert gradcheck(lambda x, h, c, *_: cell(x, (h, c)), (x, h, c, *params))
    else:
        assert gradcheck(lambda x, h, *_: cell(x, h), (x, h, *params))


@pytest.mark.parametrize("name", list(LAYERS))
def test_two_layer_bidirectional_gradcheck(name, rng):
    layer = LAYERS[name](3, 4, num_layers=2, bidirectional=True, dtype=md.float64)
    x = _tensor(rng, 3, 2, 3)
    states = [_tensor(rng, 4, 2, 4) for _ in range(2 if name == "LSTM" else 1)]
    params = list(layer.parameters())
    count = len(states)

    def run(x, *rest):
        hx = tuple(rest[:count]) if name == "LSTM" else rest[0]
        return _flat(layer(x, hx))

    assert gradcheck(run, (x, *states, *params))


# ---- PyTorch as the oracle ---------------------------------------------------------------------


def _pair(name, **kwargs):
    """The same layer in PyTorch and minidl (float64), PyTorch's weights loaded by name."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(INPUT, HIDDEN, **kwargs).double()
    mine = (LAYERS | CELLS)[name](INPUT, HIDDEN, dtype=md.float64, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in mine.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    mine.load_state_dict({n: md.from_numpy(p.detach().numpy()) for n, p in reference.state_dict().items()})
    return reference, mine


def _compare_run(reference, mine, x, states, rng):
    """Run both with the same input and initial states, backward a random projection of every
    output, and compare outputs, input/state gradients and every parameter gradient."""
    xs_t = [torch.tensor(a, requires_grad=True) for a in (x, *states)]
    xs_m = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in (x, *states)]

    def hx(values):
        if not values:
            return None
        return tuple(values) if len(values) == 2 else values[0]

    out_t, out_m = _flat(reference(xs_t[0], hx(xs_t[1:]))), _flat(mine(xs_m[0], hx(xs_m[1:])))
    assert len(out_t) == len(out_m)
    loss_t, loss_m = 0, 0
    for a, b in zip(out_t, out_m):
        assert tuple(b.shape) == tuple(a.shape)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-9, atol=1e-12)
        weights = rng.standard_normal(tuple(a.shape))
        loss_t = loss_t + (a * torch.tensor(weights)).sum()
        loss_m = loss_m + (b * md.tensor(weights, dtype=md.float64)).sum()
    loss_t.backward()
    loss_m.backward()
    for a, b in zip(xs_t, xs_m):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-9, atol=1e-12)
    grads_t = dict(reference.named_parameters())
    for name, p in mine.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads_t[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


LAYER_CASES = list(itertools.product(["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True]))


@requires_torch
@pytest.mark.parametrize("name, num_layers, batch_first, bidirectional", LAYER_CASES)
def test_layer_matches_torch(name, num_layers, batch_first, bidirectional, rng):
    reference, mine = _pair(name, num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional)
    x = rng.standard_normal((BATCH, STEPS, INPUT) if batch_first else (STEPS, BATCH, INPUT))
    state_shape = (num_layers * (2 if bidirectional else 1), BATCH, HIDDEN)
    states = [rng.standard_normal(state_shape) for _ in range(2 if name == "LSTM" else 1)]
    _compare_run(reference, mine, x, states, rng)


@requires_torch
@pytest.mark.parametrize("name, kwargs", [
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", {"bias": False, "bidirectional": True}),
    ("GRU", {"bias": False, "num_layers": 2}),
])
def test_layer_options_match_torch(name, kwargs, rng):
    reference, mine = _pair(name, **kwargs)
    _compare_run(reference, mine, rng.standard_normal((STEPS, BATCH, INPUT)), [], rng)


@requires_torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_unbatched_input_matches_torch(name, rng):
    reference, mine = _pair(name, num_layers=2, bidirectional=True, batch_first=True)
    states = [rng.standard_normal((4, HIDDEN)) for _ in range(2 if name == "LSTM" else 1)]
    _compare_run(reference, mine, rng.standard_normal((STEPS, INPUT)), states, rng)


@requires_torch
@pytest.mark.parametrize("name", list(CELLS))
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_torch(name, batched, rng):
    reference, mine = _pair(name)
    shape = (BATCH,) if batched else ()
    states = [rng.standard_normal(shape + (HIDDEN,)) for _ in range(2 if name == "LSTMCell" else 1)]
    _compare_run(reference, mine, rng.standard_normal(shape + (INPUT,)), states, rng)
    reference, mine = _pair(name, bias=False)
    _compare_run(reference, mine, rng.standard_normal(shape + (INPUT,)), [], rng)


@requires_torch
def test_rnn_cell_relu_matches_torch(rng):
    reference, mine = _pair("RNNCell", nonlinearity="relu")
    _compare_run(reference, mine, rng.standard_normal((BATCH, INPUT)), [rng.standard_normal((BATCH, HIDDEN))], rng)


# ---- behaviour ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LAYERS) + list(CELLS))
def test_default_init_is_uniform_in_one_over_sqrt_hidden(name):
    md.manual_seed(0)
    module = (LAYERS | CELLS)[name](20, 100)
    bound = 1 / math.sqrt(100)
    values = np.concatenate([p.detach().numpy().ravel() for p in module.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.02 * bound  # the std of U(-b, b)


def test_float32_stays_float32(rng):
    lstm = LSTM(INPUT, HIDDEN, batch_first=True)
    x = md.tensor(rng.standard_normal((BATCH, STEPS, INPUT)).astype(np.float32), requires_grad=True)
    output, (h_n, c_n) = lstm(x)
    assert output.dtype == h_n.dtype == c_n.dtype == md.float32
    output.sum().backward()
    assert x.grad.dtype == md.float32 and all(p.grad.dtype == md.float32 for p in lstm.parameters())


def test_output_shapes():
    gru = GRU(INPUT, HIDDEN, num_layers=3, batch_first=True, bidirectional=True)
    output, h_n = gru(md.randn(BATCH, STEPS, INPUT))
    assert tuple(output.shape) == (BATCH, STEPS, 2 * HIDDEN) and tuple(h_n.shape) == (6, BATCH, HIDDEN)


def test_last_output_is_final_state_of_forward_direction(rng):
    lstm = LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True, dtype=md.float64)
    output, (h_n, _) = lstm(_tensor(rng, STEPS, BATCH, INPUT, requires_grad=False))
    np.testing.assert_allclose(output[-1, :, :HIDDEN].detach().numpy(), h_n[2].detach().numpy())   # layer 1 forward
    np.testing.assert_allclose(output[0, :, HIDDEN:].detach().numpy(), h_n[3].detach().numpy())    # layer 1 reverse


def test_truncated_bptt_detaches_between_chunks(rng):
    """Chunks with the carried state match one full pass; detaching stops gradients at the boundary."""
    lstm = LSTM(INPUT, HIDDEN, dtype=md.float64)
    x = _tensor(rng, 2 * STEPS, BATCH, INPUT)
    full, _ = lstm(x)
    first, state = lstm(x[:STEPS])
    second, _ = lstm(x[STEPS:], tuple(s.detach() for s in state))
    np.testing.assert_allclose(md.cat([first, second]).detach().numpy(), full.detach().numpy(), rtol=1e-12)
    second.sum().backward()
    grad = x.grad.numpy()
    assert np.all(grad[:STEPS] == 0) and np.abs(grad[STEPS:]).sum() > 0
    x.grad = None
    full[STEPS:].sum().backward()   # without detaching, the gradient reaches the first chunk
    assert np.abs(x.grad.numpy()[:STEPS]).sum() > 0


def test_dropout_between_layers_only_in_training(rng):
    x = _tensor(rng, STEPS, BATCH, INPUT, requires_grad=False)
    gru = GRU(INPUT, HIDDEN, num_layers=2, dropout=0.5, dtype=md.float64)
    first, second = gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy()
    assert not np.allclose(first, second)
    gru.eval()
    np.testing.assert_array_equal(gru(x)[0].detach().numpy(), gru(x)[0].detach().numpy())
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        GRU(INPUT, HIDDEN, dropout=0.5)


def test_full_dropout_feeds_zeros_to_the_next_layer(rng):
    x = _tensor(rng, STEPS, BATCH, INPUT, requires_grad=False)
    rnn = RNN(INPUT, HIDDEN, num_layers=2, dropout=1.0, dtype=md.float64)
    output, _ = rnn(x)
    top = RNN(HIDDEN, HIDDEN, dtype=md.float64)
    top.load_state_dict({k[:-1] + "0": v for k, v in rnn.state_dict().items() if k.endswith("l1")})
    expected, _ = top(md.zeros(STEPS, BATCH, HIDDEN, dtype=md.float64))
    np.testing.assert_allclose(output.detach().numpy(), expected.detach().numpy(), rtol=1e-12)


def test_errors_say_what_was_expected():
    lstm = LSTM(INPUT, HIDDEN, num_layers=2)
    with pytest.raises(ValueError, match="expected input with 5 features"):
        lstm(md.randn(STEPS, BATCH, INPUT + 1))
    with pytest.raises(ValueError, match=r"expected a 3-D input"):
        lstm(md.randn(1, STEPS, BATCH, INPUT))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\)"):
        lstm(md.randn(STEPS, BATCH, INPUT), md.zeros(2, BATCH, HIDDEN))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 3, 6\)"):
        lstm(md.randn(STEPS, BATCH, INPUT), (md.zeros(1, BATCH, HIDDEN), md.zeros(2, BATCH, HIDDEN)))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        RNN(INPUT, HIDDEN, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="num_layers must be a positive int"):
        GRU(INPUT, HIDDEN, num_layers=0)
    with pytest.raises(ValueError, match=r"GRUCell: expected input \(B, 5\)"):
        GRUCell(INPUT, HIDDEN)(md.randn(BATCH, INPUT + 1))
    with pytest.raises(ValueError, match=r"LSTMCell: expected a state of shape \(3, 6\)"):
        LSTMCell(INPUT, HIDDEN)(md.randn(BATCH, INPUT), (md.zeros(BATCH, HIDDEN), md.zeros(2, HIDDEN)))


def test_repr_reads_like_pytorch():
    assert repr(LSTM(28, 128, batch_first=True)) == "LSTM(28, 128, batch_first=True)"
    assert repr(RNN(3, 4, num_layers=2, nonlinearity="relu")) == "RNN(3, 4, num_layers=2, nonlinearity='relu')"
    assert repr(GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"
