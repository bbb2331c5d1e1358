"""Stochastic gradient descent, with momentum (heavy-ball or Nesterov), dampening and weight decay."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_non_negative


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's update rule.

    With :math:`g_t` the gradient (negated when ``maximize``), :math:`\lambda` the weight decay,
    :math:`\mu` the momentum and :math:`\tau` the dampening::

        g_t <- g_t + lambda * theta_{t-1}
        b_t <- g_t                                   (first step)
        b_t <- mu * b_{t-1} + (1 - tau) * g_t        (later steps)
        g_t <- g_t + mu * b_t   if nesterov,  else  g_t <- b_t          (when mu != 0)
        theta_t <- theta_{t-1} - lr * g_t

    State per parameter: ``momentum_buffer`` (when momentum is not 0).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.SGD([w], lr=0.1, momentum=0.9)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # w - 0.1 * [2, 4]
        >>> w
        tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum={momentum}, "
                f"dampening={dampening}"
            )
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        grad = self._effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        momentum = float(group["momentum"])
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = Tensor._make(grad.copy())
            else:
                velocity = buffer._data
                velocity *= momentum
                dampening = float(group["dampening"])
                if dampening == 0:
                    velocity += grad
                else:
                    velocity += xp.multiply(grad, 1 - dampening, out=self._buffer(param, 1))
            if group["nesterov"]:
                lookahead = xp.multiply(buffer._data, momentum, out=self._buffer(param, 1))
                grad = xp.add(grad, lookahead, out=lookahead)
            else:
                grad = buffer._data
        param -= xp.multiply(grad, float(group["lr"]), out=self._buffer(param, 1))
