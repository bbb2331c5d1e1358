"""Learning-rate schedules, with PyTorch's semantics.

A scheduler rewrites ``group['lr']`` of its optimizer's parameter groups. ``last_epoch`` counts
the scheduler's steps: the constructor performs the first one (``last_epoch`` becomes 0 and the
groups keep their learning rates, remembered as ``initial_lr``), then each ``scheduler.step()``
— after ``optimizer.step()``, once per epoch or per batch as the schedule intends — advances it.
``get_last_lr()`` gives the rates the last step set; ``state_dict``/``load_state_dict`` save
and restore the schedule's position (everything but the optimizer, and the functions of
``LambdaLR``).

The schedules that scale the current rate (warm-ups, decays) and the two ways to combine
schedules live in ``chainable_schedules.py``, the cyclic ones in ``cyclic_schedules.py``; all
are importable from here, as in PyTorch.

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)
        scheduler.step()
"""

from __future__ import annotations

import bisect
import math
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .optimizer import Optimizer

__all__ = [
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR", "OneCycleLR",
    "ReduceLROnPlateau", "MultiplicativeLR", "ConstantLR", "LinearLR", "PolynomialLR", "SequentialLR",
    "ChainedScheduler", "CosineAnnealingWarmRestarts", "CyclicLR",
]


class LRScheduler:
    """Base class: subclasses compute the next rates in ``get_lr()`` (``last_epoch`` already advanced).

    Args:
        optimizer: the optimizer whose learning rates this schedule sets.
        last_epoch: -1 to start a new schedule; to resume one, prefer ``load_state_dict``.
    """

    _is_initial = False  # True while the constructor performs the initial step

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param_groups[{index}] has no 'initial_lr', needed to resume a "
                        f"schedule at last_epoch={last_epoch}; load the optimizer's state dict first, or start "
                        "with last_epoch=-1 and load the scheduler's state dict"
                    )
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's step (``SequentialLR`` replays it when its first schedule starts)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for ``self.last_epoch`` (one per parameter group)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self) -> None:
        """Advance the schedule by one and write the new rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _set_lrs(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _jump_to(self, epoch: int) -> None:
        """Set ``last_epoch`` and its rates: from ``_closed_form_lr()`` (the base rates and the epoch alone)
        where the schedule has one, else from ``get_lr()``. ``SequentialLR`` starts each schedule so, at 0.
        """
        self.last_epoch = epoch
        closed_form = getattr(self, "_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last step, one per parameter group."""
        return self._last_lr

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything the schedule needs to resume, except the optimizer (plain numbers, strings, lists)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume the schedule saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    ``lr = initial_lr * gamma ** (last_epoch // step_size)``

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
        >>> rates = []
        >>> for epoch in range(6):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone (a step count; repeats multiply again).

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = MultiStepLR(optimizer, milestones=[2, 5], gamma=0.5)
        >>> rates = []
        >>> for epoch in range(6):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = sorted(int(milestone) for milestone in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        repeats = self.milestones.count(self.last_epoch)
        if repeats == 0:
            return self._current_lrs()
        return [lr * self.gamma**repeats for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** bisect.bisect_right(self.milestones, self.last_epoch) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every step: ``lr = initial_lr * gamma ** last_epoch``.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = ExponentialLR(optimizer, gamma=0.5)
        >>> rates = []
        >>> for epoch in range(4):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a half cosine from ``initial_lr`` to ``eta_min`` over ``T_max`` steps.

    ``lr_t = eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``, computed recursively
    from the current rate as PyTorch does (so a rate changed by hand is followed); past ``T_max``
    it rises back along the cosine.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = CosineAnnealingLR(optimizer, T_max=4)
        >>> rates = []
        >>> for epoch in range(6):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates                                   # down to eta_min = 0 at T_max, then up again
        [1.0, 0.853..., 0.5, 0.146..., 0.0, 0.146...]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:  # resumed with last_epoch > 0: the closed form
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / period)) / 2 for base in self.base_lrs]
        if (t - 1 - period) % (2 * period) == 0:  # the bottom of a cycle: restart the rise
            return [
                lr + (base - eta_min) * (1 - math.cos(math.pi / period)) / 2
                for base, lr in zip(self.base_lrs, self._current_lrs())
            ]
        ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        eta_min = self.eta_min
        return [eta_min + (base - eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


def per_group_functions(name: str, lr_lambda: Any, groups: int) -> list[Callable[[int], float]]:
    """``lr_lambda`` as one function per parameter group (one given for all, or a list of ``groups``)."""
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != groups:
            raise ValueError(f"{name}: expected {groups} lr_lambdas (one per parameter group), got {len(lr_lambda)}")
        functions = list(lr_lambda)
    else:
        functions = [lr_lambda] * groups
    for function in functions:
        if not callable(function):
            raise TypeError(f"{name}: lr_lambda must be a function, got {type(function).__name__}")
    return functions


class LambdaLR(LRScheduler):
    """Set each group's rate to ``initial_lr * lr_lambda(last_epoch)``.

    Args:
        lr_lambda: a function of the step count, or one function per parameter group.

    The functions are not part of the state dict (a callable object's ``__dict__`` is).

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = LambdaLR(optimizer, lr_lambda=lambda epoch: 1 / (epoch + 1))
        >>> rates = []
        >>> for epoch in range(4):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [1.0, 0.5, 0.333..., 0.25]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        self.lr_lambdas = per_group_functions("LambdaLR", lr_lambda, len(optimizer.param_groups))
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * function(self.last_epoch) for function, base in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self) -> dict[str, Any]:
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        # A plain function or lambda has no state worth saving; a callable object's attributes are saved.
        state["lr_lambdas"] = [
            None if isinstance(function, types.FunctionType) else dict(function.__dict__)
            for function in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        function_states = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for function, function_state in zip(self.lr_lambdas, function_states):
            if function_state is not None:
                function.__dict__.update(function_state)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): the rate rises from ``max_lr / div_factor`` to ``max_lr``
    over the first ``pct_start`` of ``total_steps``, then anneals to ``initial_lr / final_div_factor``;
    momentum (or Adam's beta1) moves the opposite way between ``max_momentum`` and ``base_momentum``.

    Step it once per batch. ``total_steps`` or (``epochs`` and ``steps_per_epoch``) fix the length.

    Example (``total_steps`` is usually ``epochs * len(loader)``):
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
        >>> scheduler = OneCycleLR(optimizer, max_lr=1.0, total_steps=5)
        >>> rates = []
        >>> for batch in range(5):
        ...     rates += scheduler.get_last_lr()    # train on a batch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates                                   # max_lr / 25 up to max_lr, then down to max_lr / 25e4
        [0.04..., 0.950..., 0.611..., 0.188..., 4e-06]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: expected a positive integer total_steps, got {total_steps!r}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not all(isinstance(count, int) and count > 0 for count in (epochs, steps_per_epoch)):
                raise ValueError(
                    f"OneCycleLR: expected positive integers epochs and steps_per_epoch, got {epochs!r}, "
                    f"{steps_per_epoch!r}"
                )
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: expected a float pct_start between 0 and 1, got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        warmup_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                _phase(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                       "max_momentum"),
                _phase(self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                _phase(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, peak in zip(groups, _per_group("OneCycleLR", "max_lr", max_lr, groups)):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"OneCycleLR: cycle_momentum needs an optimizer with momentum or betas, "
                    f"{type(optimizer).__name__} has neither; pass cycle_momentum=False"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                highs = _per_group("OneCycleLR", "max_momentum", max_momentum, groups)
                lows = _per_group("OneCycleLR", "base_momentum", base_momentum, groups)
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, fraction: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {step} times, but the schedule has total_steps={self.total_steps}; "
                "make total_steps (or epochs * steps_per_epoch) cover every scheduler.step()"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or index == len(self._schedule_phases) - 1:
                    fraction = (step - start) / (end - start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], fraction))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], fraction)
                        self._set_momentum(group, momentum)
                    break
                start = end
        return lrs


def _phase(end_step: float, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str) -> dict[str, Any]:
    """One phase of OneCycleLR: the group keys it interpolates between, up to ``end_step``."""
    return dict(end_step=end_step, start_lr=start_lr, end_lr=end_lr, start_momentum=start_momentum,
                end_momentum=end_momentum)


def _per_group(owner: str, name: str, value: float | Sequence[float], groups: list[dict[str, Any]]) -> list[float]:
    """One value per parameter group: ``value`` repeated, or a sequence checked to have one per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"{owner}: {name} has {len(value)} values but the optimizer has {len(groups)} groups")
        return list(value)
    return [value] * len(groups)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience`` steps.

    Args:
        mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
        factor: the multiplier, < 1.
        patience: steps without improvement tolerated; the rate drops on the next one.
        threshold, threshold_mode: what counts as improvement: in ``'rel'`` mode a metric below
            ``best * (1 - threshold)`` (``'min'``) or above ``best * (1 + threshold)`` (``'max'``);
            in ``'abs'`` mode below ``best - threshold`` / above ``best + threshold``.
        cooldown: steps after a drop during which bad steps are not counted.
        min_lr: a floor for the rate (one per group, or one for all).
        eps: a drop smaller than this is skipped.

    ``step(metric)`` takes the metric; it does not run in the constructor.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=1)
        >>> rates = []
        >>> for validation_loss in [1.0, 0.5, 0.6, 0.7, 0.8]:
        ...     scheduler.step(validation_loss)     # after each epoch's validation
        ...     rates += scheduler.get_last_lr()
        >>> rates                                   # the second epoch in a row without a new best halves it
        [1.0, 1.0, 1.0, 0.5, 0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got {type(optimizer).__name__}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"ReduceLROnPlateau: expected {groups} min_lrs (one per group), got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * groups
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record one value of the metric (e.g. the validation loss of an epoch); maybe lower the rate."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, value: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            return value < (best * (1.0 - threshold) if self.threshold_mode == "rel" else best - threshold)
        return value > (best * (threshold + 1.0) if self.threshold_mode == "rel" else best + threshold)

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups but min_lr has "
                    f"{len(self.min_lrs)} values (a group was added after the scheduler was made); set "
                    "scheduler.min_lrs to one value per group"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new


# The other schedules live in their own modules, which import this one: keep these imports last.
from .chainable_schedules import (  # noqa: E402
    ChainedScheduler,
    ConstantLR,
    LinearLR,
    MultiplicativeLR,
    PolynomialLR,
    SequentialLR,
)
from .cyclic_schedules import CosineAnnealingWarmRestarts, CyclicLR  # noqa: E402
