"""Adam (with the AMSGrad variant) and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ..ops import cpu_kernels
from .optimizer import Optimizer, ParamsT, check_betas, check_non_negative


class Adam(Optimizer):
    r"""Adam, PyTorch's update rule (Kingma & Ba, 2014; AMSGrad: Reddi et al., 2018).

    With :math:`g_t` the gradient (negated when ``maximize``) and :math:`\lambda` the weight decay::

        g_t <- g_t + lambda * theta_{t-1}               (Adam: L2 penalty in the gradient)
        theta_{t-1} <- theta_{t-1} * (1 - lr * lambda)  (AdamW instead: decoupled decay)
        m_t <- beta1 * m_{t-1} + (1 - beta1) * g_t
        v_t <- beta2 * v_{t-1} + (1 - beta2) * g_t^2
        v_max <- max(v_max, v_t)                        (amsgrad; then v_max replaces v_t below)
        theta_t <- theta_{t-1} - lr / (1 - beta1^t) * m_t / (sqrt(v_t) / sqrt(1 - beta2^t) + eps)

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (amsgrad).

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.Adam([w], lr=0.1)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # the first step moves each weight by lr
        >>> w
        tensor([0.9, 1.9], requires_grad=True)
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        name = type(self).__name__
        check_non_negative(name, lr=lr, eps=eps, weight_decay=weight_decay)
        check_betas(name, betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["exp_avg"] = self._state_like(param)
            state["exp_avg_sq"] = self._state_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = self._state_like(param)
        step = self._advance(state)
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        grad = self._decayed_grad(param, grad, group, self.decoupled_weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        max_exp_avg_sq = state["max_exp_avg_sq"]._data if group["amsgrad"] else None
        step_size = lr / (1 - beta1**step)
        if cpu_kernels.adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, (beta1, beta2),
                                   1 - beta2**step, eps, step_size):
            return  # the same arithmetic below, in one pass

        work = self._buffer(param, 1)
        exp_avg += xp.multiply(xp.subtract(grad, exp_avg, out=work), 1 - beta1, out=work)  # lerp towards g
        exp_avg_sq *= beta2
        exp_avg_sq += xp.multiply(xp.multiply(grad, grad, out=work), 1 - beta2, out=work)
        second_moment = exp_avg_sq
        if max_exp_avg_sq is not None:
            second_moment = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)

        denominator = xp.sqrt(second_moment, out=work)
        denominator /= (1 - beta2**step) ** 0.5
        denominator += eps
        param -= xp.multiply(xp.divide(exp_avg, denominator, out=work), step_size, out=work)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's update rule.

    Before the Adam step, each parameter shrinks by ``theta <- theta * (1 - lr * weight_decay)``;
    the decay never enters the moment estimates. See :class:`Adam` for the rest.

    Example (one step on ``(w * w).sum()``, whose gradient is ``2 w``):
        >>> import minidl as md
        >>> w = md.tensor([1.0, 2.0], requires_grad=True)
        >>> optimizer = md.optim.AdamW([w], lr=0.1, weight_decay=0.01)    # usually model.parameters()
        >>> (w * w).sum().backward()
        >>> optimizer.step()                    # w * (1 - 0.001) - 0.1
        >>> w
        tensor([0.899, 1.898], requires_grad=True)
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
