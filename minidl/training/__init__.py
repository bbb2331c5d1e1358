"""``minidl.training``: the bookkeeping every training loop repeats, kept optional and thin.

A plain PyTorch-style loop stays the way to train; these pieces slot into it::

    from minidl.training import EarlyStopping, History, RunningMean, progress, save_curves

    history, stopper = History(), EarlyStopping(patience=3, mode="max")
    for epoch in range(1, epochs + 1):
        loss_mean = RunningMean()
        bar = progress(train_loader, desc=f"epoch {epoch}")
        for images, labels in bar:
            ...
            loss_mean.update(loss.item(), len(labels))
            bar.set_postfix(loss=loss_mean.mean)
        history.log(epoch=epoch, train_loss=loss_mean.mean, val_accuracy=evaluate(model))
        if stopper.step(history["val_accuracy"][-1], model):
            break
    save_curves(history, "runs/example/curves.png")

Checkpoints that resume a run exactly: :func:`save_checkpoint`, :func:`load_checkpoint`,
:class:`ResumableLoader` (see ``minidl/training/checkpoint.py``).
"""

from .checkpoint import ResumableLoader, load_checkpoint, save_checkpoint
from .early_stopping import EarlyStopping
from .history import History
from .metrics import RunningMean, accuracy, correct
from .plots import save_curves
from .progress_bar import PlainProgress, progress

__all__ = [
    "progress", "PlainProgress", "History", "RunningMean", "accuracy", "correct", "EarlyStopping", "save_curves",
    "save_checkpoint", "load_checkpoint", "ResumableLoader",
]
