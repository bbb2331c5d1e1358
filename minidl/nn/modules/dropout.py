"""``Dropout``, ``Dropout1d``, ``Dropout2d`` and ``AlphaDropout``: inverted dropout in training, the identity
in evaluation.

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


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p``; see ``F.dropout1d``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> y = nn.Dropout1d(0.5)(md.ones(4, 8, 10))
    >>> bool((y.numpy().min(-1) == y.numpy().max(-1)).all())     # each channel all zero or all 2
    True
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (2, 3):
            raise ValueError(f"{self!r} expected input (N, C, L) or (C, L), got tensor of shape {tuple(input.shape)}")
        return F.dropout1d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks, keeping mean 0 and variance 1: dropped elements go to SELU's
    saturation value, then an affine map restores the statistics; see ``F.alpha_dropout``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> layer = nn.AlphaDropout(0.2)
    >>> x = md.randn(3, 4)
    >>> layer.eval()(x) is x
    True
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training, self.inplace)
