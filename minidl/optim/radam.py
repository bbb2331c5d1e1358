"""RAdam: Adam whose adaptive step is switched on gradually, as the variance of its estimate allows."""

from __future__ import annotations

import math
from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_betas, check_non_negative


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2019), PyTorch's update rule, with optional decoupled weight decay.

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        g_t <- g_t + lambda * theta_{t-1}                  (default: L2 penalty in the gradient)
        theta_{t-1} <- theta_{t-1} * (1 - lr * lambda)     (decoupled_weight_decay instead)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        rho_inf <- 2 / (1 - beta2) - 1 ;  rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
        r_t <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        rho_t > 5:  theta_t <- theta_{t-1} - lr m_t / (1 - beta1^t) * r_t sqrt(1 - beta2^t) / (sqrt(v_t) + eps)
        otherwise:  theta_t <- theta_{t-1} - lr m_t / (1 - beta1^t)      (the first steps: SGD with momentum)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.RAdam([w], lr=0.1)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # rho_1 = 1 <= 5: a plain momentum step, lr * g
        >>> w
        tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("RAdam", lr=lr, eps=eps, weight_decay=weight_decay)
        check_betas("RAdam", betas)
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["exp_avg"] = self._state_like(param)
            state["exp_avg_sq"] = self._state_like(param)
        step = self._advance(state)
        lr = float(group["lr"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        grad = self._decayed_grad(param, grad, group, group["decoupled_weight_decay"])

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        work, adaptive = self._buffer(param, 1), self._buffer(param, 2)
        exp_avg += xp.multiply(xp.subtract(grad, exp_avg, out=work), 1 - beta1, out=work)  # lerp towards g
        exp_avg_sq *= beta2
        exp_avg_sq += xp.multiply(xp.multiply(grad, 1 - beta2, out=work), grad, out=work)

        bias_correction2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
        update = xp.multiply(xp.divide(exp_avg, 1 - beta1**step, out=work), lr, out=work)
        if rho_t > 5.0:
            rectification = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            xp.add(xp.sqrt(exp_avg_sq, out=adaptive), float(group["eps"]), out=adaptive)
            update *= xp.divide(bias_correction2**0.5, adaptive, out=adaptive)
            update *= rectification
        param -= update
