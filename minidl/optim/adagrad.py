"""Adagrad: per-coordinate step sizes shrinking with the sum of past squared gradients."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_non_negative


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), PyTorch's update rule.

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        g_t <- g_t + lambda * theta_{t-1}
        lr_t <- lr / (1 + (t - 1) * lr_decay)
        s_t <- s_{t-1} + g_t^2                       (s_0 = initial_accumulator_value)
        theta_t <- theta_{t-1} - lr_t * g_t / (sqrt(s_t) + eps)

    State per parameter (created with the optimizer, as in PyTorch): ``step``, ``sum`` (s).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.Adagrad([w], lr=0.1)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # s_1 = g^2: the first step moves each weight by lr
        >>> w
        tensor([0.9, 1.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(
            "Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps,
        )
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, initial_accumulator_value=initial_accumulator_value,
            eps=eps, maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(param._data, self.state[param], group)

    def _init_state(self, param: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._new_step()
        state["sum"] = self._state_like(param, float(group["initial_accumulator_value"]))

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:  # a parameter added by add_param_group after construction
            self._init_state(param, state, group)
        step = self._advance(state)
        grad = self._effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        step_size = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))

        work = self._buffer(param, 1)
        squared_sum = state["sum"]._data
        squared_sum += xp.multiply(grad, grad, out=work)
        denominator = xp.sqrt(squared_sum, out=work)
        denominator += float(group["eps"])
        param -= xp.multiply(xp.divide(grad, denominator, out=work), step_size, out=work)
