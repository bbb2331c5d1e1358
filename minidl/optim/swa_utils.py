"""Weight averaging, with PyTorch's ``torch.optim.swa_utils`` semantics: a model whose weights are
the running average of another's (SWA: the equal-weight mean; EMA: the exponential moving average),
the batch-norm statistics recomputed for the averaged weights, and the SWA learning-rate schedule.

An average of the weights visited late in training is often a better model than the last point
visited: it smooths the noise of the last steps (a GAN's generator, whose weights oscillate with the
discriminator, gains the most from it).

    ema = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    for z in batches:
        ...                                 # one training step of ``generator``
        ema.update_parameters(generator)    # ema <- 0.999 * ema + 0.001 * generator
    update_bn([md.randn(256, 100) for _ in range(20)], ema)   # BN statistics for the averaged weights
    samples = ema(md.randn(64, 100))
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .. import creation, dtypes
from ..autograd.grad_mode import no_grad
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from ..tensor import Tensor
from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

__all__ = [
    "AveragedModel", "update_bn", "SWALR", "get_ema_avg_fn", "get_swa_avg_fn", "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
]

AvgFn = Callable[[Tensor, Tensor, Tensor], Tensor]
MultiAvgFn = Callable[[Sequence[Tensor], Sequence[Tensor], Tensor], None]


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"EMA: decay must be in [0, 1], got {decay}")


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """``avg_fn`` of an exponential moving average: ``decay * averaged + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(averaged: Tensor, current: Tensor, num_averaged: Tensor) -> Tensor:
        return decay * averaged + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> AvgFn:
    """``avg_fn`` of the equal-weight mean of all models seen: ``averaged + (current - averaged) / (n + 1)``."""

    def swa_update(averaged: Tensor, current: Tensor, num_averaged: Tensor) -> Tensor:
        return averaged + (current - averaged) / (num_averaged.item() + 1)

    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """``multi_avg_fn`` of an exponential moving average, updating the averaged tensors in place."""
    _check_decay(decay)

    def ema_update(averaged: Sequence[Tensor], current: Sequence[Tensor], num_averaged: Tensor) -> None:
        for average, value in zip(averaged, current, strict=True):
            _lerp_(average, value, 1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> MultiAvgFn:
    """``multi_avg_fn`` of the equal-weight mean, updating the averaged tensors in place."""

    def swa_update(averaged: Sequence[Tensor], current: Sequence[Tensor], num_averaged: Tensor) -> None:
        weight = 1 / (num_averaged.item() + 1)
        for average, value in zip(averaged, current, strict=True):
            _lerp_(average, value, weight)

    return swa_update


def _lerp_(average: Tensor, value: Tensor, weight: float) -> None:
    """``average += weight * (value - average)`` in place, on the arrays (no graph, version bumped).
    Integer tensors (a BN layer's ``num_batches_tracked``) get the rounded-down result, as in PyTorch."""
    data = average._data
    if data.dtype.kind == "f":
        data += data.dtype.type(weight) * (value._data - data)
    else:
        data[...] = (data * (1 - weight) + value._data * weight).astype(data.dtype)
    average._version[0] += 1


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are a running average of ``model``'s.

    Args:
        model: the model being trained; it is deep-copied (on ``device`` when given).
        device: where the averaged copy lives (default: where ``model`` is).
        avg_fn: ``(averaged, current, num_averaged) -> new averaged`` for one tensor at a time.
        multi_avg_fn: ``(averaged_list, current_list, num_averaged)``, updating in place (takes
            precedence over ``avg_fn``). Without either: the equal-weight mean (SWA).
        use_buffers: average the buffers too (a BN layer's running statistics) instead of copying
            them from ``model`` at each update.

    ``update_parameters(model)`` folds in ``model``'s current weights; the first call copies them.
    ``n_averaged`` (a buffer, saved in the state dict) counts the calls. The state dict's keys are
    ``module.<name>`` and ``n_averaged``, as in PyTorch. Calling the averaged model calls the copy.

    Example:
        >>> import minidl as md
        >>> net = md.nn.Linear(2, 1)
        >>> swa = AveragedModel(net)
        >>> with md.no_grad():
        ...     _ = net.weight.fill_(1.0)
        >>> swa.update_parameters(net)
        >>> with md.no_grad():
        ...     _ = net.weight.fill_(3.0)
        >>> swa.update_parameters(net)
        >>> swa.module.weight.tolist(), int(swa.n_averaged)
        ([[2.0, 2.0]], 2)
    """

    def __init__(self, model: Module, device: Any = None, avg_fn: AvgFn | None = None,
                 multi_avg_fn: MultiAvgFn | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected an nn.Module to average, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", creation.tensor(0, dtype=dtypes.int64, device=device))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list[Tensor]:
        tensors = list(model.parameters())
        if self.use_buffers:
            tensors += list(model.buffers())
        return tensors

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers, with ``use_buffers``) into the average."""
        averaged, current = self._tensors(self.module), self._tensors(model)
        if len(averaged) != len(current):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(current)} parameters"
                             f"{' and buffers' * self.use_buffers}, the averaged copy {len(averaged)}: "
                             "pass the model this AveragedModel was built from")
        with no_grad():
            current = [value.detach().to(average.device) for average, value in zip(averaged, current)]
            if int(self.n_averaged.item()) == 0:
                for average, value in zip(averaged, current):
                    average.copy_(value)
            elif self.multi_avg_fn is not None or self.avg_fn is None:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, self.n_averaged)
            else:
                for average, value in zip(averaged, current):
                    average.copy_(self.avg_fn(average, value, self.n_averaged))
            if not self.use_buffers:  # keep the copy's buffers in step with the model's
                for average, value in zip(self.module.buffers(), model.buffers()):
                    average.copy_(value.detach().to(average.device))
            self.n_averaged.add_(1)


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running statistics of every batch-norm layer of ``model`` from ``loader``.

    The statistics are reset, and each layer's ``momentum`` is set to ``None`` (an equal-weight
    average over the batches) while ``loader``'s batches pass through the model in training mode
    without a graph; then momentum and mode are restored. A batch that is a tuple or list
    contributes its first element (the inputs of an ``(x, y)`` loader). Without batch norm this
    does nothing.
    """
    layers = [module for module in model.modules() if isinstance(module, _BatchNorm)]
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
    was_training = model.training
    model.train()
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                if device is not None:
                    batch = batch.to(device)
                model(batch)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` steps, then hold it.

    Step ``k`` (``k = 0`` in the constructor) sets ``lr_k = a(t_k) * swa_lr + (1 - a(t_k)) * lr_0``
    with ``t_k = clip(k / anneal_epochs, 0, 1)`` and the annealing curve ``a`` (``'cos'``:
    ``(1 - cos(pi t)) / 2``; ``'linear'``: ``t``). As in PyTorch, ``lr_0`` is recovered each step
    from the rate the group holds now, so a rate changed by hand between steps is annealed from.

    Args:
        optimizer: the optimizer to schedule.
        swa_lr: the target rate (one number, or one per parameter group).
        anneal_epochs: steps to reach it (0: at once).
        anneal_strategy: ``'cos'`` or ``'linear'``.
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | Sequence[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        rates = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(groups)
        if len(rates) != len(groups):
            raise ValueError(f"SWALR: expected {len(groups)} swa_lr values (one per parameter group), "
                             f"got {len(rates)}")
        for group, rate in zip(groups, rates):
            group["swa_lr"] = rate
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be a non-negative int, got {anneal_epochs!r}")
        self.anneal_strategy, self.anneal_epochs = anneal_strategy, anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        previous_t = max(0.0, min(1.0, (step - 1) / max(1, self.anneal_epochs)))
        previous_alpha = self._anneal(previous_t)
        alpha = self._anneal(max(0.0, min(1.0, step / max(1, self.anneal_epochs))))
        rates = []
        for group in self.optimizer.param_groups:
            base = (group["lr"] - previous_alpha * group["swa_lr"]) / (1 - previous_alpha) if previous_alpha < 1 \
                else group["swa_lr"]
            rates.append(group["swa_lr"] * alpha + base * (1 - alpha))
        return rates
