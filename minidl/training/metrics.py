"""Small numbers a training loop keeps: a running mean over batches, classification accuracy."""

from __future__ import annotations

from ..tensor import Tensor


class RunningMean:
    """The mean of values seen so far, weighted by how many samples each stands for.

    Example:
        >>> loss_mean = RunningMean()
        >>> loss_mean.update(0.5, n=3)      # once per batch: loss.item(), n=len(labels)
        >>> loss_mean.update(0.25, n=1)     # a smaller last batch counts less
        >>> loss_mean.mean                  # the epoch's mean loss per sample: (3 * 0.5 + 0.25) / 4
        0.4375
    """

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float | Tensor, n: int = 1) -> None:
        self.total += float(value) * n
        self.count += n

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def reset(self) -> None:
        self.total, self.count = 0.0, 0


def correct(logits: Tensor, targets: Tensor) -> int:
    """How many rows of ``logits: (N, C)`` have their largest entry at ``targets: (N,)``."""
    return int((logits.argmax(1) == targets).sum().item())


def accuracy(logits: Tensor, targets: Tensor) -> float:
    """The fraction of rows of ``logits: (N, C)`` whose argmax is the class in ``targets: (N,)``.

    Example:
        >>> import minidl as md
        >>> accuracy(md.tensor([[0.1, 2.0], [3.0, 0.0]]), md.tensor([1, 1]))    # row 0 right, row 1 wrong
        0.5
    """
    return correct(logits, targets) / max(int(targets.shape[0]), 1)
