"""Recurrences of the RNN (tanh/relu), LSTM and GRU layers, as fused Ops.

A recurrent layer does its work in two parts:

1. the input projection of every time step at once, ``x @ W_ih^T + b_ih`` for the whole
   (T, B, I) sequence: one matrix product, done by the caller with ``F.linear``;
2. the recurrence over time, done here by one Op per layer and direction. Its forward runs
   the T steps; each step is one fused gate computation on the (B, G*H) pre-activation
   (G gates: 1 for RNN, 4 for LSTM, 3 for GRU), a handful of array operations. Its backward
   is backpropagation through time in closed form, walking the steps in reverse.

Gate order and formulas are PyTorch's (``*`` is the elementwise product, ``σ`` the sigmoid)::

    RNN   h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)            (or relu)
    LSTM  [i, f, g, o] = x W_ih^T + b_ih + h W_hh^T + b_hh         (B, 4H), in this order
          i, f, o = σ(i), σ(f), σ(o);  g = tanh(g)
          c' = f * c + i * g;  h' = o * tanh(c')
    GRU   [r, z, n]_x = x W_ih^T + b_ih;  [r, z, n]_h = h W_hh^T + b_hh     (B, 3H) each
          r = σ(r_x + r_h);  z = σ(z_x + z_h);  n = tanh(n_x + r * n_h)
          h' = (1 - z) * n + z * h

The gradient of ``W_hh`` is one matrix product over all steps at the end of backward,
``dW_hh = sum_t dA_t^T h_{t-1}`` with ``dA_t`` the gradient of step t's hidden pre-activation,
and everything that does not depend on the step order (activation derivatives) is computed
for all steps at once. The cells (``nn.LSTMCell``...) run the same Ops with T = 1.

The backward works on raw arrays for speed, so it is not itself differentiable: a second
derivative through a recurrence (``create_graph=True``) raises.

Example::

    gates_x = F.linear(x, weight_ih, bias_ih)            # x: (T, B, I) -> (T, B, 4H)
    output, h_n, c_n = lstm_recurrence(gates_x, h_0, c_0, weight_hh, bias_hh)
"""

from __future__ import annotations

from typing import Any

from ..autograd.function import Op
from ..autograd.grad_mode import _GradMode
from ..backend import array_module
from ..tensor import Tensor
from . import cpu_kernels


def _sigmoid(xp: Any, x: Any, out: Any) -> Any:
    """σ(x) = (1 + tanh(x / 2)) / 2: one transcendental, and no overflow for large |x|."""
    xp.multiply(x, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _in_step_order(array: Any, reverse: bool) -> Any:
    """A (T, ...) array in the order the steps run: time order, or backwards for ``reverse``."""
    return array[::-1] if reverse else array


def _in_time_order(xp: Any, array: Any, reverse: bool) -> Any:
    return xp.ascontiguousarray(array[::-1]) if reverse else array


def _refuse_double_backward(name: str) -> None:
    if _GradMode.enabled:
        raise RuntimeError(
            f"{name}: the fused recurrence has a hand-written backward that is not differentiable, so "
            "second derivatives through it (create_graph=True) are not supported. Build the cell from "
            "elementary ops (F.linear, sigmoid, tanh) if you need them."
        )


def _hidden_weight_grads(ctx: Any, d_hidden: Any, h_prev: Any, w_index: int, b_index: int) -> tuple:
    """dW_hh = sum over steps and batch of d_hidden^T h_prev; db_hh = the sum of d_hidden.

    d_hidden: (T, B, G*H) gradient of ``h W_hh^T + b_hh``; h_prev: (T, B, H), same step order.
    """
    steps, batch, gates = d_hidden.shape
    d_weight = d_bias = None
    if ctx.needs_input_grad[w_index]:
        d_weight = d_hidden.reshape(steps * batch, gates).T @ h_prev.reshape(steps * batch, -1)
    if ctx.needs_input_grad[b_index]:
        d_bias = d_hidden.sum(axis=(0, 1))
    return d_weight, d_bias


class RNNRecurrence(Op):
    """Elman RNN over a sequence: h_t = act(gates_x_t + h_{t-1} W_hh^T + b_hh).

    gates_x: (T, B, H), h_0: (B, H), weight_hh: (H, H), bias_hh: (H,) or None.
    Returns output (T, B, H) and h_n (B, H).
    """

    op_name = "rnn"

    @staticmethod
    def forward(ctx, gates_x, h_0, weight_hh, bias_hh, nonlinearity, reverse):
        xp = array_module(gates_x)
        steps, batch, hidden = gates_x.shape
        pre_x = gates_x if bias_hh is None else gates_x + bias_hh
        pre_x = _in_step_order(pre_x, reverse)
        # hs[s] is the state before step s (in step order), hs[s + 1] the one after it.
        hs = xp.empty((steps + 1, batch, hidden), dtype=gates_x.dtype)
        hs[0] = h_0
        weight_t = xp.ascontiguousarray(weight_hh.T)  # row-major: a faster product than the transposed view
        for s in range(steps):
            pre = pre_x[s] + hs[s] @ weight_t
            if nonlinearity == "tanh":
                xp.tanh(pre, out=hs[s + 1])
            else:
                xp.maximum(pre, 0, out=hs[s + 1])
        ctx.save_for_backward(hs, weight_hh)
        ctx.nonlinearity, ctx.reverse = nonlinearity, reverse
        return _in_time_order(xp, hs[1:], reverse), hs[steps].copy()

    @staticmethod
    def backward(ctx, grad_output, grad_h_n):
        _refuse_double_backward("rnn")
        hs, weight_hh = (t._data for t in ctx.saved_tensors)
        xp = array_module(hs)
        grad_output = _in_step_order(grad_output._data, ctx.reverse)
        after = hs[1:]
        derivative = 1 - after * after if ctx.nonlinearity == "tanh" else (after > 0).astype(after.dtype)
        d_pre = xp.empty_like(after)
        d_h = grad_h_n._data
        for s in range(len(after) - 1, -1, -1):
            xp.multiply(d_h + grad_output[s], derivative[s], out=d_pre[s])
            d_h = d_pre[s] @ weight_hh
        d_weight, d_bias = _hidden_weight_grads(ctx, d_pre, hs[:-1], 2, 3)
        return _in_time_order(xp, d_pre, ctx.reverse), d_h, d_weight, d_bias, None, None


class LSTMRecurrence(Op):
    """LSTM over a sequence (gate order i, f, g, o).

    gates_x: (T, B, 4H), h_0 and c_0: (B, H), weight_hh: (4H, H), bias_hh: (4H,) or None.
    Returns output (T, B, H), h_n (B, H) and c_n (B, H).
    """

    op_name = "lstm"

    @staticmethod
    def forward(ctx, gates_x, h_0, c_0, weight_hh, bias_hh, reverse):
        xp = array_module(gates_x)
        steps, batch, four_hidden = gates_x.shape
        H = four_hidden // 4
        gates_x = _in_step_order(gates_x, reverse)
        hs = xp.empty((steps + 1, batch, H), dtype=gates_x.dtype)
        cs = xp.empty_like(hs)
        activated = xp.empty((steps, batch, four_hidden), dtype=gates_x.dtype)  # σ(i), σ(f), tanh(g), σ(o)
        tanh_cs = xp.empty((steps, batch, H), dtype=gates_x.dtype)
        hs[0], cs[0] = h_0, c_0
        weight_t = xp.ascontiguousarray(weight_hh.T)  # row-major: a faster product than the transposed view
        pre = xp.empty((batch, four_hidden), dtype=gates_x.dtype)  # reused by every step
        for s in range(steps):
            xp.matmul(hs[s], weight_t, out=pre)
            pre += gates_x[s]
            if bias_hh is not None:
                pre += bias_hh
            gates = activated[s]
            _sigmoid(xp, pre, out=gates)
            xp.tanh(pre[:, 2 * H:3 * H], out=gates[:, 2 * H:3 * H])
            i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
            xp.multiply(f, cs[s], out=cs[s + 1])
            cs[s + 1] += i * g
            xp.tanh(cs[s + 1], out=tanh_cs[s])
            xp.multiply(o, tanh_cs[s], out=hs[s + 1])
        ctx.save_for_backward(hs, cs, activated, tanh_cs, weight_hh)
        ctx.reverse = reverse
        return _in_time_order(xp, hs[1:], reverse), hs[steps].copy(), cs[steps].copy()

    @staticmethod
    def backward(ctx, grad_output, grad_h_n, grad_c_n):
        _refuse_double_backward("lstm")
        hs, cs, activated, tanh_cs, weight_hh = (t._data for t in ctx.saved_tensors)
        xp = array_module(hs)
        grad_output = _in_step_order(grad_output._data, ctx.reverse)
        steps, _, four_hidden = activated.shape
        H = four_hidden // 4
        d_pre = xp.empty_like(activated)
        if cpu_kernels.enabled_for(hs):  # one compiled pass per step (see cpu_kernels)
            d_h, d_c = grad_h_n._data, grad_c_n._data.copy()  # d_c is updated in place
            for s in range(steps - 1, -1, -1):
                cpu_kernels.lstm_cell_backward(d_h, grad_output[s], activated[s], tanh_cs[s], cs[s], d_c, d_pre[s])
                d_h = d_pre[s] @ weight_hh
            d_weight, d_bias = _hidden_weight_grads(ctx, d_pre, hs[:-1], 3, 4)
            return _in_time_order(xp, d_pre, ctx.reverse), d_h, d_c, d_weight, d_bias, None
        # d(activation)/d(pre-activation) for all steps at once: σ' = a(1 - a), tanh' = 1 - a².
        # (Written in place: fewer large temporaries.)
        gate_derivative = 1 - activated
        gate_derivative *= activated
        tanh_g = activated[:, :, 2 * H:3 * H]
        xp.multiply(tanh_g, tanh_g, out=gate_derivative[:, :, 2 * H:3 * H])
        xp.subtract(1, gate_derivative[:, :, 2 * H:3 * H], out=gate_derivative[:, :, 2 * H:3 * H])
        tanh_c_derivative = tanh_cs * tanh_cs
        xp.subtract(1, tanh_c_derivative, out=tanh_c_derivative)
        d_h, d_c = grad_h_n._data, grad_c_n._data
        for s in range(steps - 1, -1, -1):
            d_h = d_h + grad_output[s]
            gates, d_gates = activated[s], d_pre[s]
            i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
            d_c = d_c + d_h * o * tanh_c_derivative[s]
            xp.multiply(d_c, g, out=d_gates[:, :H])
            xp.multiply(d_c, cs[s], out=d_gates[:, H:2 * H])
            xp.multiply(d_c, i, out=d_gates[:, 2 * H:3 * H])
            xp.multiply(d_h, tanh_cs[s], out=d_gates[:, 3 * H:])
            d_gates *= gate_derivative[s]
            d_c = d_c * f
            d_h = d_gates @ weight_hh
        d_weight, d_bias = _hidden_weight_grads(ctx, d_pre, hs[:-1], 3, 4)
        return _in_time_order(xp, d_pre, ctx.reverse), d_h, d_c, d_weight, d_bias, None


class GRURecurrence(Op):
    """GRU over a sequence (gate order r, z, n).

    gates_x: (T, B, 3H) (the input projection with b_ih), h_0: (B, H), weight_hh: (3H, H),
    bias_hh: (3H,) or None. Returns output (T, B, H) and h_n (B, H).
    """

    op_name = "gru"

    @staticmethod
    def forward(ctx, gates_x, h_0, weight_hh, bias_hh, reverse):
        xp = array_module(gates_x)
        steps, batch, three_hidden = gates_x.shape
        H = three_hidden // 3
        gates_x = _in_step_order(gates_x, reverse)
        hs = xp.empty((steps + 1, batch, H), dtype=gates_x.dtype)
        reset_update = xp.empty((steps, batch, 2 * H), dtype=gates_x.dtype)  # σ(r), σ(z)
        candidates = xp.empty((steps, batch, H), dtype=gates_x.dtype)        # n
        hidden_n = xp.empty((steps, batch, H), dtype=gates_x.dtype)          # n_h = h W_hn^T + b_hn
        hs[0] = h_0
        weight_t = xp.ascontiguousarray(weight_hh.T)  # row-major: a faster product than the transposed view
        for s in range(steps):
            gates_h = hs[s] @ weight_t
            if bias_hh is not None:
                gates_h += bias_hh
            rz = reset_update[s]
            _sigmoid(xp, gates_x[s, :, :2 * H] + gates_h[:, :2 * H], out=rz)
            hidden_n[s] = gates_h[:, 2 * H:]
            n = candidates[s]
            xp.multiply(rz[:, :H], hidden_n[s], out=n)
            n += gates_x[s, :, 2 * H:]
            xp.tanh(n, out=n)
            xp.subtract(hs[s], n, out=hs[s + 1])
            hs[s + 1] *= rz[:, H:]
            hs[s + 1] += n
        ctx.save_for_backward(hs, reset_update, candidates, hidden_n, weight_hh)
        ctx.reverse = reverse
        return _in_time_order(xp, hs[1:], reverse), hs[steps].copy()

    @staticmethod
    def backward(ctx, grad_output, grad_h_n):
        _refuse_double_backward("gru")
        hs, reset_update, candidates, hidden_n, weight_hh = (t._data for t in ctx.saved_tensors)
        xp = array_module(hs)
        grad_output = _in_step_order(grad_output._data, ctx.reverse)
        steps, batch, H = candidates.shape
        reset_update_derivative = reset_update * (1 - reset_update)
        candidate_derivative = 1 - candidates * candidates
        d_gates_x = xp.empty((steps, batch, 3 * H), dtype=hs.dtype)
        d_gates_h = xp.empty_like(d_gates_x)
        d_h = grad_h_n._data
        for s in range(steps - 1, -1, -1):
            d_h = d_h + grad_output[s]
            r, z, n = reset_update[s, :, :H], reset_update[s, :, H:], candidates[s]
            dx, dh = d_gates_x[s], d_gates_h[s]
            d_n_pre = dx[:, 2 * H:]
            xp.multiply(d_h, 1 - z, out=d_n_pre)
            d_n_pre *= candidate_derivative[s]
            xp.multiply(d_n_pre, hidden_n[s], out=dx[:, :H])          # d r
            xp.multiply(d_h, hs[s] - n, out=dx[:, H:2 * H])           # d z
            dx[:, :2 * H] *= reset_update_derivative[s]
            dh[:, :2 * H] = dx[:, :2 * H]
            xp.multiply(d_n_pre, r, out=dh[:, 2 * H:])
            d_h = d_h * z + dh @ weight_hh
        d_weight, d_bias = _hidden_weight_grads(ctx, d_gates_h, hs[:-1], 2, 3)
        return _in_time_order(xp, d_gates_x, ctx.reverse), d_h, d_weight, d_bias, None


def _check(name: str, gates_x: Tensor, states: tuple, weight_hh: Tensor, bias_hh: Tensor | None,
           gates: int) -> None:
    """Shapes and dtypes a recurrence needs, with an error that says which argument is off."""
    if gates_x.ndim != 3:
        raise ValueError(f"{name}: gates_x must be (T, B, {gates}*H), got shape {tuple(gates_x.shape)}")
    steps, batch, width = gates_x.shape
    hidden = weight_hh.shape[-1]
    if steps == 0:
        raise ValueError(f"{name}: the sequence is empty (T = 0); give at least one time step")
    if tuple(weight_hh.shape) != (gates * hidden, hidden) or width != gates * hidden:
        raise ValueError(
            f"{name}: expected weight_hh ({gates}*H, H) and gates_x (T, B, {gates}*H) with the same H, got "
            f"weight_hh {tuple(weight_hh.shape)} and gates_x {tuple(gates_x.shape)}"
        )
    if bias_hh is not None and tuple(bias_hh.shape) != (gates * hidden,):
        raise ValueError(f"{name}: bias_hh must be ({gates * hidden},), got {tuple(bias_hh.shape)}")
    for state in states:
        if tuple(state.shape) != (batch, hidden):
            raise ValueError(f"{name}: expected a state of shape {(batch, hidden)}, got {tuple(state.shape)}")
    tensors = (gates_x, weight_hh, *states) + (() if bias_hh is None else (bias_hh,))
    if len({t.dtype for t in tensors}) != 1:
        raise TypeError(f"{name}: all arguments must have one dtype, got {sorted({str(t.dtype) for t in tensors})}")


def rnn_recurrence(gates_x: Tensor, h_0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None = None,
                   nonlinearity: str = "tanh", reverse: bool = False) -> tuple[Tensor, Tensor]:
    """Run an Elman RNN over a sequence whose input projection is already done.

    gates_x: (T, B, H) = x W_ih^T + b_ih; h_0: (B, H); weight_hh: (H, H); bias_hh: (H,).
    ``reverse`` runs the steps from t = T-1 down to 0 (the backward direction of a
    bidirectional layer); the output stays in time order. Returns (output (T, B, H), h_n (B, H)).
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    _check("rnn", gates_x, (h_0,), weight_hh, bias_hh, 1)
    return RNNRecurrence.apply(gates_x, h_0, weight_hh, bias_hh, nonlinearity, reverse)


def lstm_recurrence(gates_x: Tensor, h_0: Tensor, c_0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None = None,
                    reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Run an LSTM over a sequence whose input projection is already done.

    gates_x: (T, B, 4H) = x W_ih^T + b_ih; h_0, c_0: (B, H); weight_hh: (4H, H); bias_hh: (4H,).
    Returns (output (T, B, H), h_n (B, H), c_n (B, H)).
    """
    _check("lstm", gates_x, (h_0, c_0), weight_hh, bias_hh, 4)
    return LSTMRecurrence.apply(gates_x, h_0, c_0, weight_hh, bias_hh, reverse)


def gru_recurrence(gates_x: Tensor, h_0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None = None,
                   reverse: bool = False) -> tuple[Tensor, Tensor]:
    """Run a GRU over a sequence whose input projection is already done.

    gates_x: (T, B, 3H) = x W_ih^T + b_ih; h_0: (B, H); weight_hh: (3H, H); bias_hh: (3H,).
    Returns (output (T, B, H), h_n (B, H)).
    """
    _check("gru", gates_x, (h_0,), weight_hh, bias_hh, 3)
    return GRURecurrence.apply(gates_x, h_0, weight_hh, bias_hh, reverse)
