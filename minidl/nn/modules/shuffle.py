"""Channel-rearranging layers: ``PixelShuffle``, ``PixelUnshuffle`` and ``ChannelShuffle`` (the functions of
``minidl/nn/_functional/shuffle.py`` as modules, with PyTorch's arguments and reprs)::

    nn.PixelShuffle(3)(md.randn(1, 9, 4, 4)).shape      # (1, 1, 12, 12)
"""

from __future__ import annotations

from ...tensor import Tensor
from .._functional.shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle
from .module import Module


class PixelShuffle(Module):
    """``(*, C*r*r, H, W)`` -> ``(*, C, H*r, W*r)`` with ``r = upscale_factor``; see ``F.pixel_shuffle``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.PixelShuffle(2)(md.randn(8, 12, 5, 5)).shape
    (8, 3, 10, 10)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """``(*, C, H*r, W*r)`` -> ``(*, C*r*r, H, W)`` with ``r = downscale_factor``; see ``F.pixel_unshuffle``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.PixelUnshuffle(2)(md.randn(8, 3, 10, 10)).shape
    (8, 12, 5, 5)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave ``groups`` groups of the channels of ``(N, C, *)``; see ``F.channel_shuffle``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.ChannelShuffle(2)(md.arange(4.0).reshape(1, 4, 1)).flatten()
    tensor([0., 2., 1., 3.])
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
