"""Schedules that scale the current learning rate (warm-ups, decays), and the two ways to combine schedules.

Each of ``MultiplicativeLR``, ``ConstantLR``, ``LinearLR`` and ``PolynomialLR`` computes the next
rate from the one the group holds now, as PyTorch does, so several of them can act on the same
optimizer: ``ChainedScheduler`` steps them all at every step (their factors multiply), and
``SequentialLR`` hands over from one schedule to the next at given milestones (a warm-up, then a
decay). The closed forms, from the base rates, restart a schedule at a milestone.

    warmup = LinearLR(optimizer, start_factor=0.1, total_iters=5)
    decay = CosineAnnealingLR(optimizer, T_max=95)
    scheduler = SequentialLR(optimizer, schedulers=[warmup, decay], milestones=[5])
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

from .lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau, per_group_functions
from .optimizer import Optimizer


class MultiplicativeLR(LRScheduler):
    """Multiply each group's rate by ``lr_lambda(last_epoch)`` at every step (not at construction).

    ``lr_t = lr_{t-1} * lr_lambda(t)``

    Args:
        lr_lambda: a function of the step count, or one function per parameter group.

    As for ``LambdaLR``, callable objects' attributes are saved in the state dict, plain functions are not.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = MultiplicativeLR(optimizer, lr_lambda=lambda epoch: 0.5)
        >>> rates = []
        >>> for epoch in range(4):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        self.lr_lambdas = per_group_functions("MultiplicativeLR", lr_lambda, groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * function(self.last_epoch) for function, lr in zip(self.lr_lambdas, self._current_lrs())]

    state_dict = LambdaLR.state_dict
    load_state_dict = LambdaLR.load_state_dict


class ConstantLR(LRScheduler):
    """Scale the rate by ``factor`` for the first ``total_iters`` steps, then restore it (a constant warm-up).

    ``lr_t = initial_lr * factor`` for ``t < total_iters``, ``initial_lr`` after.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = ConstantLR(optimizer, factor=0.5, total_iters=2)
        >>> rates = []
        >>> for epoch in range(4):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if not 0 <= factor <= 1.0:
            raise ValueError(f"ConstantLR: expected a factor between 0 and 1, got {factor!r}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        factor = self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)
        return [base * factor for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the rate by a factor going linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    steps, then hold it (a linear warm-up, or decay).

    ``lr_t = initial_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)``,
    reached step by step from the current rate as PyTorch does.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = LinearLR(optimizer, start_factor=0.25, total_iters=3)
        >>> rates = []
        >>> for epoch in range(5):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not 0 < start_factor <= 1.0:
            raise ValueError(f"LinearLR: expected a start_factor in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: expected an end_factor in [0, 1], got {end_factor!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, start, end = self.last_epoch, self.start_factor, self.end_factor
        if t == 0:
            return [lr * start for lr in self._current_lrs()]
        if self._is_initial or t > self.total_iters:
            return self._current_lrs()
        ratio = 1.0 + (end - start) / (self.total_iters * start + (t - 1) * (end - start))
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        start, end = self.start_factor, self.end_factor
        factor = start + (end - start) * min(self.total_iters, self.last_epoch) / self.total_iters
        return [base * factor for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the rate to 0 along a polynomial over ``total_iters`` steps, then hold it.

    ``lr_t = initial_lr * (1 - min(t, total_iters) / total_iters) ** power``, reached step by step
    from the current rate as PyTorch does.

    Example:
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> scheduler = PolynomialLR(optimizer, total_iters=4, power=2.0)
        >>> rates = []
        >>> for epoch in range(6):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, total = self.last_epoch, self.total_iters
        if self._is_initial or t > total:
            return self._current_lrs()
        ratio = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [lr * ratio for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        factor = (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
        return [base * factor for base in self.base_lrs]


def _check_schedulers(owner: str, schedulers: list[Any], optimizer: Optimizer) -> None:
    """Raise a clear error unless ``schedulers`` are LR schedulers of ``optimizer`` that step without arguments."""
    if not schedulers:
        raise ValueError(f"{owner}: expected at least one scheduler, got none")
    for index, scheduler in enumerate(schedulers):
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"{owner}: expected LR schedulers, but the one at index {index} is a "
                            f"{type(scheduler).__name__}")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: can't combine ReduceLROnPlateau (at index {index}): its step() needs "
                             "the metric")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: all schedulers must drive the same optimizer, but {type(scheduler).__name__} "
                             f"at index {index} drives another one")


def _combined_state_dict(scheduler: LRScheduler) -> dict[str, Any]:
    """The state of a combination: its own, and each of its schedulers' state dicts."""
    state = {key: value for key, value in scheduler.__dict__.items() if key not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [child.state_dict() for child in scheduler._schedulers]
    return state


def _load_combined_state_dict(scheduler: LRScheduler, state_dict: dict[str, Any]) -> None:
    state = dict(state_dict)
    for child, child_state in zip(scheduler._schedulers, state.pop("_schedulers"), strict=True):
        child.load_state_dict(child_state)
    scheduler.__dict__.update(state)


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after the other: the ``i``-th from step ``milestones[i - 1]`` on.

    Each schedule after the first starts afresh at its milestone (``last_epoch = 0``, its rate
    from its closed form: the group's ``initial_lr`` for most), then steps on as usual. The
    schedulers must drive ``optimizer``; their own constructor steps are undone.

    Example (a 2-step linear warm-up, then an exponential decay):
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> warmup = LinearLR(optimizer, start_factor=0.5, total_iters=2)
        >>> decay = md.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
        >>> scheduler = SequentialLR(optimizer, schedulers=[warmup, decay], milestones=[2])
        >>> rates = []
        >>> for epoch in range(5):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SequentialLR: expected an Optimizer, got {type(optimizer).__name__}")
        schedulers, milestones = list(schedulers), list(milestones)
        _check_schedulers("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones (one fewer than the {len(schedulers)} "
                f"schedulers), got {len(milestones)}: {milestones}"
            )
        if any(later <= earlier for earlier, later in zip(milestones, milestones[1:])):
            raise ValueError(f"SequentialLR: expected increasing milestones, got {milestones}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_constructor_steps(self)
        first = schedulers[bisect.bisect_right(milestones, 0)]
        first._initial_step()
        self._last_lr = list(first.get_last_lr())

    def step(self) -> None:
        """Advance the schedule in charge now; at a milestone, start the next one at its step 0."""
        self.last_epoch += 1
        index = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._jump_to(0)
        else:
            scheduler.step()
        self._last_lr = list(scheduler.get_last_lr())

    def state_dict(self) -> dict[str, Any]:
        """Its position and each scheduler's state dict."""
        return _combined_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_combined_state_dict(self, state_dict)


def _undo_constructor_steps(scheduler: Any) -> None:
    """Move back by one step the ``last_epoch`` of every scheduler in a (nested) combination."""
    for child in scheduler._schedulers:
        if hasattr(child, "_schedulers"):
            _undo_constructor_steps(child)
        else:
            child.last_epoch -= 1


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together: each ``step()`` steps them all, in order.

    Their changes compound when each scales the current rate (``ConstantLR``, ``ExponentialLR``,
    ...). ``optimizer`` defaults to the first scheduler's.

    Example (a constant warm-up on top of an exponential decay):
        >>> import minidl as md
        >>> optimizer = md.optim.SGD([md.zeros(1, requires_grad=True)], lr=1.0)
        >>> warmup = ConstantLR(optimizer, factor=0.1, total_iters=2)
        >>> decay = md.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
        >>> scheduler = ChainedScheduler([warmup, decay])
        >>> rates = []
        >>> for epoch in range(4):
        ...     rates += scheduler.get_last_lr()    # train an epoch at this rate, then:
        ...     optimizer.step(); scheduler.step()
        >>> rates
        [0.1, 0.05, 0.25, 0.125]
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        schedulers = list(schedulers)
        if optimizer is None and schedulers:
            optimizer = schedulers[0].optimizer
        _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()

    def state_dict(self) -> dict[str, Any]:
        """Each scheduler's state dict (and the last rates)."""
        return _combined_state_dict(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_combined_state_dict(self, state_dict)
