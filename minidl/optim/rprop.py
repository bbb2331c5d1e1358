"""Rprop: each weight moves by its own step size, grown while its gradient keeps its sign, cut when it flips."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from .optimizer import Optimizer, ParamsT, check_non_negative


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993), PyTorch's update rule.

    Only the gradient's sign is used. With :math:`g_t` the gradient (negated when ``maximize``),
    ``etas = (eta_minus, eta_plus)`` and ``step_sizes = (s_min, s_max)``, for each coordinate::

        g_t * g_{t-1} > 0:  s_t <- min(s_{t-1} * eta_plus, s_max)
        g_t * g_{t-1} < 0:  s_t <- max(s_{t-1} * eta_minus, s_min) ;  g_t <- 0  (no move; no flip next step)
        otherwise:          s_t <- s_{t-1}
        theta_t <- theta_{t-1} - sign(g_t) * s_t

    The step sizes start at ``lr``. State per parameter: ``step``, ``prev`` (g_{t-1}, after zeroing),
    ``step_size`` (s).

    Example (a quadratic: the weight moves by 0.1, then by 0.12 while the sign holds):
        >>> import minidl as md
        >>> w = md.tensor([1.0], requires_grad=True)
        >>> optimizer = md.optim.Rprop([w], lr=0.1)    # usually model.parameters()
        >>> for _ in range(2):
        ...     optimizer.zero_grad(); (w * w).sum().backward(); optimizer.step()
        >>> w
        tensor([0.78], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative("Rprop", lr=lr)
        eta_minus, eta_plus = etas
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(f"Rprop: invalid etas {tuple(etas)}: expected (eta_minus, eta_plus) with "
                             "0 < eta_minus < 1 < eta_plus")
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize))

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        xp = array_module(param)
        if not state:
            state["step"] = self._new_step()
            state["prev"] = self._state_like(param)
            state["step_size"] = self._state_like(param, float(group["lr"]))
        self._advance(state)
        eta_minus, eta_plus = (float(eta) for eta in group["etas"])
        smallest, largest = (float(size) for size in group["step_sizes"])
        grad = self._effective_grad(param, grad, 0.0, group["maximize"])
        prev, step_size = state["prev"]._data, state["step_size"]._data

        agreement = xp.multiply(grad, prev, out=self._buffer(param, 1))
        flipped = agreement < 0
        step_size[agreement > 0] *= eta_plus
        step_size[flipped] *= eta_minus
        xp.clip(step_size, smallest, largest, out=step_size)
        prev[...] = grad
        prev[flipped] = 0
        param -= xp.multiply(xp.sign(prev, out=agreement), step_size, out=agreement)
