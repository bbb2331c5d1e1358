"""Adamax: Adam with the infinity norm of past gradients in place of their second moment."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_betas, check_non_negative


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2014, section 7.1), PyTorch's update rule.

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        g_t <- g_t + lambda * theta_{t-1}
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        u_t <- max(beta2 * u_{t-1}, |g_t| + eps)
        theta_t <- theta_{t-1} - lr / (1 - beta1^t) * m_t / u_t

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.Adamax([w], lr=0.1)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # the first step moves each weight by lr
        >>> w
        tensor([0.9, 1.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("Adamax", lr=lr, eps=eps, weight_decay=weight_decay)
        check_betas("Adamax", betas)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["exp_avg"] = self._state_like(param)
            state["exp_inf"] = self._state_like(param)
        step = self._advance(state)
        beta1, beta2 = (float(beta) for beta in group["betas"])
        grad = self._effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data

        work = self._buffer(param, 1)
        exp_avg += xp.multiply(xp.subtract(grad, exp_avg, out=work), 1 - beta1, out=work)  # lerp towards g
        exp_inf *= beta2
        xp.maximum(exp_inf, xp.add(xp.abs(grad, out=work), float(group["eps"]), out=work), out=exp_inf)
        step_size = float(group["lr"]) / (1 - beta1**step)
        param -= xp.divide(xp.multiply(exp_avg, step_size, out=work), exp_inf, out=work)
