"""``EarlyStopping``: stop when a validation metric has stopped improving, and go back to the best weights."""

from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor


class EarlyStopping:
    """Watch a validation metric once per epoch; say when to stop.

    Args:
        patience: after this many epochs in a row without improvement, stop (as in Keras and Lightning).
        mode: ``'min'`` (a loss) or ``'max'`` (an accuracy).
        min_delta: an improvement smaller than this does not count.
        restore_best_weights: when ``step`` says stop, load the best epoch's weights back into the model.

    Example (a training loop)::

        stopper = EarlyStopping(patience=3, mode="max")
        for epoch in range(100):
            train_one_epoch()
            if stopper.step(evaluate(model), model):
                break                      # the model now holds its best weights

    The same with the validation accuracies of five epochs, and no model:

        >>> stopper = EarlyStopping(patience=2, mode="max")
        >>> for epoch, val_accuracy in enumerate([0.80, 0.85, 0.84, 0.83, 0.90], 1):
        ...     if stopper.step(val_accuracy):
        ...         break
        >>> epoch, stopper.best_epoch, stopper.best      # two epochs without a new best: stop after epoch 4
        (4, 2, 0.85)
    """

    def __init__(self, patience: int = 5, mode: str = "min", min_delta: float = 0.0,
                 restore_best_weights: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if patience < 0 or min_delta < 0:
            raise ValueError(f"EarlyStopping: patience and min_delta must be >= 0, got {patience}, {min_delta}")
        self.patience, self.mode, self.min_delta = patience, mode, min_delta
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.epochs = 0
        self.bad_epochs = 0
        self.should_stop = False
        self.best_weights: dict[str, Tensor] | None = None

    def improved(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float | Tensor, model: Any = None) -> bool:
        """Record this epoch's metric (and snapshot ``model`` if it is the best); True means stop now."""
        value = float(value.item()) if isinstance(value, Tensor) else float(value)
        self.epochs += 1
        if self.improved(value):
            self.best, self.best_epoch, self.bad_epochs = value, self.epochs, 0
            if model is not None and self.restore_best_weights:
                self.best_weights = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        self.should_stop = self.bad_epochs >= self.patience and self.bad_epochs > 0
        if self.should_stop and model is not None:
            self.restore(model)
        return self.should_stop

    def restore(self, model: Any) -> None:
        """Load the best weights seen into ``model`` (nothing happens before the first snapshot)."""
        if self.restore_best_weights and self.best_weights is not None:
            model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        state = {key: value for key, value in vars(self).items() if key != "best_weights"}
        state["best_weights"] = self.best_weights if self.best_weights is not None else {}
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        weights = state.pop("best_weights")
        vars(self).update(state)
        self.best_weights = {name: tensor.clone() for name, tensor in weights.items()} or None
