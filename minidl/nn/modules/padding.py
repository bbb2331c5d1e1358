"""``ZeroPad2d`` and ``ConstantPad2d``: pad the last two dims of (N, C, H, W) or (C, H, W).

padding: an int (all four sides) or ``(left, right, top, bottom)``, as in PyTorch::

    nn.ZeroPad2d((1, 1, 2, 0))(md.randn(1, 1, 3, 3)).shape     # (1, 1, 5, 5)
"""

from __future__ import annotations

from typing import Sequence

from ...ops.indexing import pad
from ...tensor import Tensor
from .module import Module


def _four_sides(padding: int | Sequence[int], name: str) -> tuple[int, int, int, int]:
    if isinstance(padding, int):
        return (padding,) * 4
    padding = tuple(padding)
    if len(padding) != 4:
        raise ValueError(f"{name}: padding must be an int or (left, right, top, bottom), got {padding}")
    return padding  # type: ignore[return-value]


class ConstantPad2d(Module):
    """Pad the last two dims with ``value``."""

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        self.padding, self.value = _four_sides(padding, type(self).__name__), value

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(
                f"{self!r} expected input (N, C, H, W) or (C, H, W), got tensor of shape {tuple(input.shape)}"
            )
        return pad(input, self.padding, mode="constant", value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
