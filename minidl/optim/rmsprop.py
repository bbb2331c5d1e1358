"""RMSprop: gradients divided by a running RMS of their recent magnitudes."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_non_negative


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), PyTorch's update rule, with its centered and momentum variants.

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        g_t <- g_t + lambda * theta_{t-1}
        v_t <- alpha * v_{t-1} + (1 - alpha) * g_t^2
        centered:  a_t <- alpha * a_{t-1} + (1 - alpha) * g_t ;  d_t <- sqrt(v_t - a_t^2) + eps
        else:      d_t <- sqrt(v_t) + eps
        momentum:  b_t <- momentum * b_{t-1} + g_t / d_t ;  theta_t <- theta_{t-1} - lr * b_t
        else:      theta_t <- theta_{t-1} - lr * g_t / d_t

    State per parameter: ``step``, ``square_avg`` (v), ``grad_avg`` (a, centered),
    ``momentum_buffer`` (b, momentum > 0).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.RMSprop([w], lr=0.01)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # v_1 = 0.01 g^2: w - 0.01 * g / (0.1 |g|)
        >>> w
        tensor([0.9, 1.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        momentum = float(group["momentum"])
        if not state:
            state["step"] = self._new_step()
            state["square_avg"] = self._state_like(param)
            if momentum > 0:
                state["momentum_buffer"] = self._state_like(param)
            if group["centered"]:
                state["grad_avg"] = self._state_like(param)
        self._advance(state)
        grad = self._effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        alpha, lr = float(group["alpha"]), float(group["lr"])

        work = self._buffer(param, 1)
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        square_avg += xp.multiply(xp.multiply(grad, grad, out=work), 1 - alpha, out=work)
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            grad_avg += xp.multiply(xp.subtract(grad, grad_avg, out=work), 1 - alpha, out=work)  # lerp towards g
            denominator = xp.sqrt(xp.subtract(square_avg, xp.multiply(grad_avg, grad_avg, out=work), out=work),
                                  out=work)
        else:
            denominator = xp.sqrt(square_avg, out=work)
        denominator += float(group["eps"])
        if momentum > 0:
            buffer = state["momentum_buffer"]._data
            buffer *= momentum
            buffer += xp.divide(grad, denominator, out=work)
            param -= xp.multiply(buffer, lr, out=work)
        else:
            param -= xp.multiply(xp.divide(grad, denominator, out=work), lr, out=work)
