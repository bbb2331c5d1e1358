"""Schedules that cycle: cosine annealing with warm restarts (SGDR), and cyclical learning rates (CLR)."""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing from ``initial_lr`` down to ``eta_min`` over ``T_i`` steps, then a restart
    at ``initial_lr`` (SGDR, Loshchilov & Hutter, 2017); each period is ``T_mult`` times the last.

    ``lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``, with ``T_cur`` the steps
    since the last restart, ``T_0`` the first period.

    ``step(epoch)`` jumps to ``epoch``, which may be fractional (``epoch + batch / batches_per_epoch``,
    stepping every batch); ``step()`` advances by one.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2)
        >>> rates = []
        >>> for epoch in range(7):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates                                   # restarts after 2, then 4 epochs
        [1.0, 0.5, 1.0, 0.853..., 0.5, 0.146..., 1.0]
        >>> scheduler.step(2.5)                     # half an epoch into the second period
        >>> scheduler.get_last_lr()
        [0.96...]
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a positive integer T_0, got {T_0!r}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected an integer T_mult >= 1, got {T_mult!r}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a number eta_min, got {type(eta_min).__name__}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        eta_min = self.eta_min
        return [eta_min + (base - eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance by one step, or jump to ``epoch`` (a number >= 0, fractional allowed)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur %= self.T_i
                self.T_i *= self.T_mult
        elif epoch < 0:
            raise ValueError(f"CosineAnnealingWarmRestarts: expected a non-negative epoch, got {epoch!r}")
        elif epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            # Periods T_0, T_0 m, T_0 m^2, ...: n of them end at T_0 (m^n - 1) / (m - 1).
            restarts = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**restarts - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**restarts
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())


class CyclicLR(LRScheduler):
    """Cycle the rate between ``base_lr`` and ``max_lr`` (Smith, 2017): up over ``step_size_up`` steps,
    down over ``step_size_down``; step it once per batch.

    With ``c`` the cycle (from 1) and ``x`` in [0, 1] the position in the triangle::

        c = floor(1 + t / (up + down)) ;  f = t / (up + down) + 1 - c
        x = f / r  if f <= r  else  (f - 1) / (r - 1)          (r = up / (up + down))
        lr = base_lr + (max_lr - base_lr) * x * scale(c  or  t)

    ``mode`` picks the scale: ``'triangular'`` 1, ``'triangular2'`` ``1 / 2^(c - 1)`` (halved each
    cycle), ``'exp_range'`` ``gamma^t``; or ``scale_fn`` of the cycle (``scale_mode='cycle'``) or
    of the step (``'iterations'``). With ``cycle_momentum`` (SGD's ``momentum``, Adam's beta1), the
    momentum moves the other way: ``max_momentum - (max_momentum - base_momentum) * x * scale``.

    ``base_lr`` replaces the groups' rates at construction; ``base_lr``, ``max_lr``, ``base_momentum``
    and ``max_momentum`` take one value or one per group. A ``scale_fn`` that is a callable object
    has its attributes saved in the state dict; a plain function is not saved.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        >>> scheduler = CyclicLR(optimizer, base_lr=0.1, max_lr=0.5, step_size_up=2, mode="triangular2")
        >>> rates = []
        >>> for batch in range(9):
        ...     rates += scheduler.get_last_lr()    # train on a batch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> [round(rate, 6) for rate in rates]      # the second cycle peaks at half the height
        [0.1, 0.3, 0.5, 0.3, 0.1, 0.2, 0.3, 0.2, 0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | Sequence[float],
        max_lr: float | Sequence[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.8,
        max_momentum: float | Sequence[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"CyclicLR: expected an Optimizer, got {type(optimizer).__name__}")
        groups = optimizer.param_groups
        base_lrs = _per_group("CyclicLR", "base_lr", base_lr, groups)
        if last_epoch == -1:
            for group, lr in zip(groups, base_lrs):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR", "max_lr", max_lr, groups)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(
                f"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range' (or give scale_fn), got {mode!r}"
            )
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"CyclicLR: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._set_builtin_scale_mode()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"CyclicLR: cycle_momentum needs an optimizer with momentum or betas, "
                    f"{type(optimizer).__name__} has neither; pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("CyclicLR", "base_momentum", base_momentum, groups)
            self.max_momentums = _per_group("CyclicLR", "max_momentum", max_momentum, groups)
            if last_epoch == -1:
                for group, high, low in zip(groups, self.max_momentums, self.base_momentums):
                    self._set_momentum(group, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs  # after the constructor's step, which used the groups' initial_lr

    def _set_builtin_scale_mode(self) -> None:
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at cycle (or step) ``x``: ``scale_fn``'s, or the mode's."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        fraction = 1.0 + self.last_epoch / self.total_size - cycle
        if fraction <= self.step_ratio:
            height = fraction / self.step_ratio
        else:
            height = (fraction - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base + (peak - base) * height * scale for base, peak in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                self._set_momentum(group, high - (high - low) * height * scale)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position; of ``scale_fn``, only a callable object's attributes."""
        state = super().state_dict()
        function = state.pop("_scale_fn_custom")
        keep = function is not None and not isinstance(function, types.FunctionType)
        state["_scale_fn_custom"] = dict(function.__dict__) if keep else None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        function_state = state.pop("_scale_fn_custom")
        super().load_state_dict(state)
        if function_state is not None:
            self._scale_fn_custom.__dict__.update(function_state)
        self._set_builtin_scale_mode()
