"""``Dropout`` and ``Dropout2d``: inverted dropout in training, the identity in evaluation.

    layer = nn.Dropout(0.25)
    layer(x)            # training: each element zeroed with p=0.25, the rest scaled by 1/0.75
    layer.eval()(x)     # evaluation: x itself
"""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` (drawn from minidl's seeded generator)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) or (C, H, W) with probability ``p``."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(
                f"{self!r} expected input (N, C, H, W) or (C, H, W), got tensor of shape {tuple(input.shape)}"
            )
        return F.dropout2d(input, self.p, self.training, self.inplace)
