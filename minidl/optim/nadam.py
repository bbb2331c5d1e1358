"""NAdam: Adam with Nesterov momentum, its momentum warmed up by a decaying schedule."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_betas, check_non_negative


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), PyTorch's update rule, with an optional decoupled weight decay (NAdamW).

    With :math:`g_t` the gradient (negated when ``maximize``), :math:`\lambda` the weight decay
    and :math:`\psi` the momentum decay::

        g_t <- g_t + lambda * theta_{t-1}                  (default: L2 penalty in the gradient)
        theta_{t-1} <- theta_{t-1} * (1 - lr * lambda)     (decoupled_weight_decay instead)
        mu_t <- beta1 * (1 - 0.96^(t psi) / 2) ;  mu_{t+1} <- beta1 * (1 - 0.96^((t + 1) psi) / 2)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        d_t <- sqrt(v_t / (1 - beta2^t)) + eps
        theta_t <- theta_{t-1} - lr (1 - mu_t) / (1 - prod_{i<=t} mu_i) * g_t / d_t
                               - lr mu_{t+1} / (1 - prod_{i<=t+1} mu_i) * m_t / d_t

    State per parameter: ``step``, ``mu_product`` (the running product of the mu_i, a float32
    scalar as in PyTorch), ``exp_avg`` (m), ``exp_avg_sq`` (v).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.NAdam([w], lr=0.1)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # the first step moves each weight by about 1.06 lr
        >>> w
        tensor([0.8944, 1.8944], requires_grad=True)
    """

    scalar_state = ("step", "mu_product")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("NAdam", lr=lr, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay)
        check_betas("NAdam", betas)
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["mu_product"] = self._new_scalar(1.0)
            state["exp_avg"] = self._state_like(param)
            state["exp_avg_sq"] = self._state_like(param)
        step = self._advance(state)
        lr, eps, momentum_decay = float(group["lr"]), float(group["eps"]), float(group["momentum_decay"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        grad = self._decayed_grad(param, grad, group, group["decoupled_weight_decay"])

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        mu_product = state["mu_product"]._data
        mu_product *= mu  # in float32, as PyTorch
        mu_product = float(mu_product)

        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        work, denominator = self._buffer(param, 1), self._buffer(param, 2)
        exp_avg += xp.multiply(xp.subtract(grad, exp_avg, out=work), 1 - beta1, out=work)  # lerp towards g
        exp_avg_sq *= beta2
        exp_avg_sq += xp.multiply(xp.multiply(grad, 1 - beta2, out=work), grad, out=work)
        xp.sqrt(xp.divide(exp_avg_sq, 1 - beta2**step, out=denominator), out=denominator)
        denominator += eps
        param += xp.divide(xp.multiply(grad, -lr * (1.0 - mu) / (1.0 - mu_product), out=work), denominator, out=work)
        exp_avg_scale = -lr * mu_next / (1.0 - mu_product * mu_next)
        param += xp.divide(xp.multiply(exp_avg, exp_avg_scale, out=work), denominator, out=work)
