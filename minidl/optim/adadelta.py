"""Adadelta: steps scaled by the ratio of running RMS of past updates to running RMS of gradients."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_non_negative


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's update rule (``lr`` scales the step; 1.0 is the paper's).

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        g_t <- g_t + lambda * theta_{t-1}
        v_t <- rho * v_{t-1} + (1 - rho) * g_t^2
        delta_t <- sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g_t
        u_t <- rho * u_{t-1} + (1 - rho) * delta_t^2
        theta_t <- theta_{t-1} - lr * delta_t

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.Adadelta([w])    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # u_0 = 0: a first step of sqrt(eps / 0.1) ~ 0.003
        >>> w
        tensor([0.9968, 1.9968], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("Adadelta", lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: invalid rho {rho!r}: expected 0 <= rho <= 1")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["square_avg"] = self._state_like(param)
            state["acc_delta"] = self._state_like(param)
        self._advance(state)
        grad = self._effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        rho, eps = float(group["rho"]), float(group["eps"])

        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        work, delta = self._buffer(param, 1), self._buffer(param, 2)
        square_avg *= rho
        square_avg += xp.multiply(xp.multiply(grad, grad, out=work), 1 - rho, out=work)
        gradient_rms = xp.sqrt(xp.add(square_avg, eps, out=work), out=work)
        xp.sqrt(xp.add(acc_delta, eps, out=delta), out=delta)
        delta /= gradient_rms
        delta *= grad
        acc_delta *= rho
        acc_delta += xp.multiply(xp.multiply(delta, delta, out=work), 1 - rho, out=work)
        param -= xp.multiply(delta, float(group["lr"]), out=delta)
