"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

Parameters, their names, shapes, gate order and default initialisation are PyTorch's, so a
PyTorch state dict loads by name::

    weight_ih_l{k}[_reverse]   (G*H, I) for layer 0, (G*H, D*H) above    G gates: RNN 1, LSTM 4, GRU 3
    weight_hh_l{k}[_reverse]   (G*H, H)
    bias_ih_l{k}[_reverse], bias_hh_l{k}[_reverse]   (G*H,)

A layer computes, for each layer and direction, the input projection of all time steps in one
matrix product, then runs the recurrence as one fused Op (``minidl.ops.rnn``) whose backward is
backpropagation through time over the whole sequence. For truncated BPTT, feed the sequence in
chunks and ``detach()`` the state carried from one chunk to the next.

A ``PackedSequence`` input (``nn.utils.rnn``) runs each layer and direction segment by segment:
the packed steps where the same number B' of sequences are still running form one (T', B', G*H)
block of the projected input, and one fused recurrence runs over it. The forward direction
walks the segments in time order and drops the sequences that have ended, keeping their final
states; the reverse direction walks them backwards and adds each sequence, with its initial
state, when its last step comes. No padding is ever computed, and each sequence's final state
is the one at its own last step, as in PyTorch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ... import creation
from ...ops.rnn import gru_recurrence, lstm_recurrence, rnn_recurrence
from ...ops.shape import cat, stack
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's default: every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for parameter in module.parameters():
        init.uniform_(parameter, -bound, bound)


def _run_recurrence(mode: str, gates_x: Tensor, state: tuple, weight_hh: Tensor, bias_hh: Tensor | None,
                    reverse: bool) -> tuple:
    """(output, final state tuple) of one layer and direction; state is (h,) or (h, c) for LSTM."""
    if mode == "LSTM":
        output, h, c = lstm_recurrence(gates_x, state[0], state[1], weight_hh, bias_hh, reverse)
        return output, (h, c)
    if mode == "GRU":
        output, h = gru_recurrence(gates_x, state[0], weight_hh, bias_hh, reverse)
    else:
        nonlinearity = "tanh" if mode == "RNN_TANH" else "relu"
        output, h = rnn_recurrence(gates_x, state[0], weight_hh, bias_hh, nonlinearity, reverse)
    return output, (h,)


def _segments(batch_sizes: list[int]) -> list[tuple[int, int, int]]:
    """The runs of equal batch size in a packed sequence: (first packed row, steps, batch) each."""
    runs: list[tuple[int, int, int]] = []
    row = 0
    for size in batch_sizes:
        if runs and runs[-1][2] == size:
            start, steps, _ = runs[-1]
            runs[-1] = (start, steps + 1, size)
        else:
            runs.append((row, 1, size))
        row += size
    return runs


def _run_packed(mode: str, gates_x: Tensor, initial: tuple, weight_hh: Tensor, bias_hh: Tensor | None,
                reverse: bool, segments: list[tuple[int, int, int]]) -> tuple:
    """(packed output (N, H), final state tuple of (B, H)) of one layer and direction over packed steps.

    gates_x: (N, G*H), the packed input projection; initial: states (B, H) in sorted batch order.
    """
    width = gates_x.shape[1]
    outputs: list[Tensor] = []
    if not reverse:
        state, ended = initial, []
        for start, steps, batch in segments:
            if batch < state[0].shape[0]:  # the sequences past `batch` ended with the last segment
                ended.append(tuple(s[batch:] for s in state))
                state = tuple(s[:batch] for s in state)
            block = gates_x[start:start + steps * batch].reshape(steps, batch, width)
            output, state = _run_recurrence(mode, block, state, weight_hh, bias_hh, False)
            outputs.append(output.reshape(steps * batch, output.shape[2]))
        finals = [state, *reversed(ended)]
        final = tuple(cat([f[i] for f in finals], 0) if len(finals) > 1 else state[i] for i in range(len(state)))
        return cat(outputs, 0) if len(outputs) > 1 else outputs[0], final
    state = tuple(s[:segments[-1][2]] for s in initial)
    for start, steps, batch in reversed(segments):
        running = state[0].shape[0]
        if batch > running:  # the sequences from `running` to `batch` have their last step here
            state = tuple(cat([s, s_0[running:batch]], 0) for s, s_0 in zip(state, initial))
        block = gates_x[start:start + steps * batch].reshape(steps, batch, width)
        output, state = _run_recurrence(mode, block, state, weight_hh, bias_hh, True)
        outputs.append(output.reshape(steps * batch, output.shape[2]))
    return cat(outputs[::-1], 0) if len(outputs) > 1 else outputs[0], state


def _check_sizes(name: str, input_size: int, hidden_size: int) -> None:
    for label, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name}: {label} must be a positive int, got {value!r}")


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (multi-layer, optionally bidirectional).

    input: (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I).
    Returns output (T, B, D*H) (batch first if asked) and the final state(s) (num_layers*D, B, H),
    ordered layer 0 forward, layer 0 reverse, layer 1 forward, ...
    A ``PackedSequence`` input (data (N, I)) gives a ``PackedSequence`` output (data (N, D*H)).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        _check_sizes(name, input_size, hidden_size)
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout={dropout} has no effect with num_layers=1: it is applied between layers, "
                "to every layer's output except the last", stacklevel=2,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout = float(dropout)
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {f"weight_ih{suffix}": (gate_size, layer_input_size),
                          f"weight_hh{suffix}": (gate_size, hidden_size)}
                if bias:
                    shapes.update({f"bias_ih{suffix}": (gate_size,), f"bias_hh{suffix}": (gate_size,)})
                for param_name, shape in shapes.items():
                    self.register_parameter(param_name, Parameter(creation.empty(shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(param_name)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """Per layer and direction: [weight_ih, weight_hh, bias_ih, bias_hh] (no biases without bias)."""
        per_group = 4 if self.bias else 2
        weights = [getattr(self, n) for n in self._flat_weights_names]
        return [weights[i:i + per_group] for i in range(0, len(weights), per_group)]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text

    def _initial_state(self, hx: Any, batched: bool, batch: int, reference: Tensor) -> tuple:
        """The initial state(s) as a tuple of (num_layers*D, B, H) tensors; zeros when hx is None."""
        name = type(self).__name__
        count = 2 if self.mode == "LSTM" else 1
        shape = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if hx is None:
            zeros = creation.zeros(shape, dtype=reference.dtype, device=reference.device)
            return (zeros,) * count
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            states = tuple(hx)
        else:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{name}: hx must be a Tensor h_0, got {type(hx).__name__}")
            states = (hx,)
        expected = shape if batched else (shape[0], shape[2])
        for label, state in zip(("h_0", "c_0"), states):
            if tuple(state.shape) != expected:
                kind = "batched" if batched else "unbatched"
                raise ValueError(
                    f"{name}: expected {label} of shape {expected} for this {kind} input "
                    f"(num_layers*num_directions, {'batch, ' if batched else ''}hidden_size), got {tuple(state.shape)}"
                )
        return states if batched else tuple(s.unsqueeze(1) for s in states)

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple:
        """input: (T, B, I) ((B, T, I) with batch_first, or unbatched (T, I)), or a ``PackedSequence``;
        hx: initial state(s).

        Returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for LSTM). A packed input gives a packed
        output (its data (N, D*H)) and each sequence's state at its own last step, in the original
        batch order (hx too is in the original order).
        """
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: expected a 3-D input (T, B, I) ({'batch_first: (B, T, I)' if self.batch_first else ''}) "
                f"or an unbatched 2-D input (T, I), got shape {tuple(input.shape)}"
            )
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        steps, batch, features = input.shape
        if features != self.input_size:
            raise ValueError(f"{name}: expected input with {self.input_size} features (input_size), got {features}")
        initial = self._initial_state(hx, batched, batch, input)
        directions = 2 if self.bidirectional else 1
        per_group = 4 if self.bias else 2
        weights = [getattr(self, n) for n in self._flat_weights_names]
        finals: list[tuple] = []
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                group = weights[index * per_group:(index + 1) * per_group]
                weight_ih, weight_hh = group[0], group[1]
                bias_ih, bias_hh = (group[2], group[3]) if self.bias else (None, None)
                # The input projection of every step at once: one (T*B, I) x (I, G*H) product.
                flat = layer_input.reshape(steps * batch, layer_input.shape[2])
                gates_x = F.linear(flat, weight_ih, bias_ih).reshape(steps, batch, weight_ih.shape[0])
                state = tuple(s[index] for s in initial)
                output, final = _run_recurrence(self.mode, gates_x, state, weight_hh, bias_hh, direction == 1)
                outputs.append(output)
                finals.append(final)
            layer_input = outputs[0] if directions == 1 else cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        output = layer_input
        final_states = tuple(stack([f[i] for f in finals], 0) for i in range(len(initial)))
        if not batched:
            output = output.squeeze(1)
            final_states = tuple(s.squeeze(1) for s in final_states)
        elif self.batch_first:
            output = output.transpose(0, 1)
        if self.mode == "LSTM":
            return output, final_states
        return output, final_states[0]

    def _forward_packed(self, input: PackedSequence, hx: Any) -> tuple:
        name = type(self).__name__
        data = input.data
        if data.ndim != 2 or data.shape[1] != self.input_size:
            raise ValueError(
                f"{name}: expected packed data (N, {self.input_size}) (input_size features), "
                f"got shape {tuple(data.shape)}"
            )
        batch_sizes = [int(size) for size in input.batch_sizes.tolist()]
        segments = _segments(batch_sizes)
        initial = self._initial_state(hx, True, batch_sizes[0], data)
        if hx is not None and input.sorted_indices is not None:  # hx is in the original batch order
            initial = tuple(s.index_select(1, input.sorted_indices) for s in initial)
        directions = 2 if self.bidirectional else 1
        per_group = 4 if self.bias else 2
        weights = [getattr(self, n) for n in self._flat_weights_names]
        finals: list[tuple] = []
        layer_input = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                group = weights[index * per_group:(index + 1) * per_group]
                bias_ih, bias_hh = (group[2], group[3]) if self.bias else (None, None)
                gates_x = F.linear(layer_input, group[0], bias_ih)
                state = tuple(s[index] for s in initial)
                output, final = _run_packed(self.mode, gates_x, state, group[1], bias_hh, direction == 1, segments)
                outputs.append(output)
                finals.append(final)
            layer_input = outputs[0] if directions == 1 else cat(outputs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        final_states = tuple(stack([f[i] for f in finals], 0) for i in range(len(initial)))
        if input.unsorted_indices is not None:
            final_states = tuple(s.index_select(1, input.unsorted_indices) for s in final_states)
        output = PackedSequence(layer_input, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        if self.mode == "LSTM":
            return output, final_states
        return output, final_states[0]


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked and
    optionally bidirectional.

    input: (T, B, input_size) ((B, T, input_size) with batch_first; unbatched (T, input_size));
    h_0: (num_layers*D, B, hidden_size). Returns output (T, B, D*hidden_size), h_n like h_0.

        rnn = nn.RNN(10, 20, num_layers=2)
        output, h_n = rnn(md.randn(5, 3, 10))   # (5, 3, 20), (2, 3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory, stacked and optionally bidirectional (gate order i, f, g, o).

    input: (T, B, input_size) ((B, T, input_size) with batch_first; unbatched (T, input_size));
    hx: (h_0, c_0), each (num_layers*D, B, hidden_size), zeros when omitted.
    Returns output (T, B, D*hidden_size) and (h_n, c_n) shaped like (h_0, c_0).

        lstm = nn.LSTM(28, 128, batch_first=True)
        output, (h_n, c_n) = lstm(md.randn(64, 28, 28))   # (64, 28, 128), (1, 64, 128) each
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit, stacked and optionally bidirectional (gate order r, z, n).

    input: (T, B, input_size) ((B, T, input_size) with batch_first; unbatched (T, input_size));
    h_0: (num_layers*D, B, hidden_size). Returns output (T, B, D*hidden_size), h_n like h_0.

        gru = nn.GRU(28, 128, batch_first=True, bidirectional=True)
        output, h_n = gru(md.randn(64, 28, 28))   # (64, 28, 256), (2, 64, 128)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)


class RNNCellBase(Module):
    """Shared machinery of the cells: one time step, parameters weight_ih (G*H, I),
    weight_hh (G*H, H), bias_ih and bias_hh (G*H,)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool, device: Any, dtype: Any) -> None:
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gate_size = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(creation.empty((gate_size, input_size), device=device, dtype=dtype))
        self.weight_hh = Parameter(creation.empty((gate_size, hidden_size), device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty((gate_size,), device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.empty((gate_size,), device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _step(self, input: Tensor, hx: Any) -> tuple:
        """Run one step; returns the new state as a tuple ((h,) or (h, c)), shaped like the input's batch."""
        name = type(self).__name__
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input (B, {self.input_size}) or unbatched ({self.input_size},), "
                f"got shape {tuple(input.shape)}"
            )
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        batch = input.shape[0]
        count = 2 if self.mode == "LSTM" else 1
        if hx is None:
            zeros = creation.zeros((batch, self.hidden_size), dtype=input.dtype, device=input.device)
            states = (zeros,) * count
        else:
            states = tuple(hx) if self.mode == "LSTM" else (hx,)
            if len(states) != count or not all(isinstance(s, Tensor) for s in states):
                raise TypeError(f"{name}: hx must be {'a tuple (h, c) of Tensors' if count == 2 else 'a Tensor h'}")
            expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
            for state in states:
                if tuple(state.shape) != expected:
                    raise ValueError(f"{name}: expected a state of shape {expected}, got {tuple(state.shape)}")
            if not batched:
                states = tuple(s.unsqueeze(0) for s in states)
        gates_x = F.linear(input, self.weight_ih, self.bias_ih).unsqueeze(0)  # a sequence of one step
        _, final = _run_recurrence(self.mode, gates_x, states, self.weight_hh, self.bias_hh, False)
        return final if batched else tuple(s.squeeze(0) for s in final)


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    input: (B, input_size) or (input_size,); hx: (B, hidden_size) or (hidden_size,), zeros when
    omitted. Returns h' shaped like hx.

        cell = nn.RNNCell(10, 20)
        h = cell(md.randn(3, 10))          # (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, bias,
                         device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gate order i, f, g, o): returns (h', c').

    input: (B, input_size) or (input_size,); hx: (h, c), each (B, hidden_size), zeros when omitted.

        cell = nn.LSTMCell(10, 20)
        h, c = cell(md.randn(3, 10))       # (3, 20) each
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        return self._step(input, hx)


class GRUCell(RNNCellBase):
    """One GRU step (gate order r, z, n): returns h'.

    input: (B, input_size) or (input_size,); hx: (B, hidden_size), zeros when omitted.

        cell = nn.GRUCell(10, 20)
        h = cell(md.randn(3, 10))          # (3, 20)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0]
