"""ASGD: SGD with a decaying step size, and a running average of the iterates kept alongside."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_non_negative


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak & Juditsky, 1992), PyTorch's update rule.

    With :math:`g_t` the gradient (negated when ``maximize``), :math:`\lambda` the weight decay,
    ``eta_1 = lr`` and ``mu_1 = 1``::

        g_t <- g_t + lambda * theta_{t-1}
        theta_t <- theta_{t-1} * (1 - lambd * eta_t) - eta_t * g_t
        ax_t <- ax_{t-1} + mu_t * (theta_t - ax_{t-1})        (ax_t <- theta_t while mu_t = 1)
        eta_{t+1} <- lr / (1 + lambd * lr * t)^alpha
        mu_{t+1} <- 1 / max(1, t - t0)

    The parameters follow ``theta``; ``ax`` (the average of the iterates since step ``t0``) is in
    the state, for evaluation. State per parameter: ``step``, ``eta``, ``mu`` (float32 scalars, as
    in PyTorch), ``ax``.

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.ASGD([w], lr=0.1, lambd=0.0)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # w - 0.1 * [2, 4]
        >>> w
        tensor([0.8, 1.6], requires_grad=True)
    """

    scalar_state = ("step", "eta", "mu")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("ASGD", lr=lr, weight_decay=weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["eta"] = self._new_scalar(float(group["lr"]))
            state["mu"] = self._new_scalar(1.0)
            state["ax"] = self._state_like(param)
        step = self._advance(state)
        lr, lambd = float(group["lr"]), float(group["lambd"])
        grad = self._effective_grad(param, grad, float(group["weight_decay"]), group["maximize"])
        eta, mu = float(state["eta"]._data), float(state["mu"]._data)

        work = self._buffer(param, 1)
        param *= 1 - lambd * eta
        param -= xp.multiply(grad, eta, out=work)
        average = state["ax"]._data
        if mu != 1:
            average += xp.multiply(xp.subtract(param, average, out=work), mu, out=work)
        else:
            average[...] = param
        state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** float(group["alpha"]))
        state["mu"]._data[...] = 1 / max(1, step - float(group["t0"]))
