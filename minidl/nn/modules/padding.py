"""Padding layers: ``ConstantPad1d/2d``, ``ZeroPad1d/2d``, ``ReflectionPad1d/2d``, ``ReplicationPad1d/2d``,
``CircularPad1d/2d``. Each pads the last one (1d: ``(N, C, L)`` or ``(C, L)``) or two (2d: ``(N, C, H, W)``
or ``(C, H, W)``) dims with ``F.pad`` in its mode.

padding: an int (every side) or ``(left, right)`` (1d) / ``(left, right, top, bottom)`` (2d), as in PyTorch::

    nn.ZeroPad2d((1, 1, 2, 0))(md.randn(1, 1, 3, 3)).shape     # (1, 1, 5, 5)
    nn.ReflectionPad1d(2)(md.randn(4, 3, 10)).shape             # (4, 3, 14)
"""

from __future__ import annotations

from typing import Sequence

from ...ops.indexing import pad
from ...tensor import Tensor
from .module import Module

_SIDES = {1: "(left, right)", 2: "(left, right, top, bottom)"}
_LAYOUTS = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)"}


def _sides(padding: int | Sequence[int], dims: int, name: str) -> tuple[int, ...]:
    if isinstance(padding, int):
        return (padding,) * (2 * dims)
    padding = tuple(padding)
    if len(padding) != 2 * dims:
        raise ValueError(f"{name}: padding must be an int or {_SIDES[dims]}, got {padding}")
    return padding


class _PadNd(Module):
    """Shared by the padding layers: ``dims`` padded dims, ``F.pad``'s ``mode``."""

    dims = 2
    mode = "constant"

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _sides(padding, self.dims, type(self).__name__)

    def _pad(self, input: Tensor, value: float = 0.0) -> Tensor:
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{self!r} expected input {_LAYOUTS[self.dims]}, got tensor of shape {tuple(input.shape)}")
        # reflect mirrors without repeating the edge (padding < size); circular wraps at most once (padding <= size)
        limit = {"reflect": 1, "circular": 0}.get(self.mode)
        if limit is not None:
            for i in range(self.dims):
                size = input.shape[input.ndim - 1 - i]
                if max(self.padding[2 * i], self.padding[2 * i + 1]) > size - limit:
                    relation = "smaller than" if limit else "at most"
                    raise ValueError(
                        f"{self!r}: {self.mode} padding must be {relation} the size of the dim it pads, got "
                        f"padding {self.padding} for input of shape {tuple(input.shape)}"
                    )
        return pad(input, self.padding, mode=self.mode, value=value)

    def forward(self, input: Tensor) -> Tensor:
        return self._pad(input)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return self._pad(input, self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim of (N, C, L) or (C, L) with ``value``."""

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims of (N, C, H, W) or (C, H, W) with ``value``."""

    dims = 2


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim of (N, C, L) or (C, L) with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims of (N, C, H, W) or (C, H, W) with zeros."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim with its mirror image, edge not repeated: ``[1, 2, 3]`` -> ``[3, 2, 1, 2, 3, 2, 1]``
    for padding 2 (each side smaller than the dim).

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.ReflectionPad1d(2)(md.tensor([[1.0, 2.0, 3.0]]))
    tensor([[3., 2., 1., 2., 3., 2., 1.]])
    """

    dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dims with their mirror image, edges not repeated (each side smaller than its dim)."""

    dims, mode = 2, "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values: ``[1, 2, 3]`` -> ``[1, 1, 2, 3, 3]`` for padding 1.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.ReplicationPad1d((1, 2))(md.tensor([[1.0, 2.0, 3.0]]))
    tensor([[1., 1., 2., 3., 3., 3.]])
    """

    dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating their edge values."""

    dims, mode = 2, "replicate"


class CircularPad1d(_PadNd):
    """Pad the last dim with values from its other end (periodic): ``[1, 2, 3]`` -> ``[3, 1, 2, 3, 1]``
    for padding 1 (each side at most the dim's size).

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.CircularPad1d(1)(md.tensor([[1.0, 2.0, 3.0]]))
    tensor([[3., 1., 2., 3., 1.]])
    """

    dims, mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Pad the last two dims periodically (each side at most the size of its dim)."""

    dims, mode = 2, "circular"
