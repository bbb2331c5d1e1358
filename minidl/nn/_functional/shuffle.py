"""Channel rearrangements: ``F.pixel_shuffle``, ``F.pixel_unshuffle``, ``F.channel_shuffle``, with PyTorch's
arguments and element order. Each is a reshape, a permute and a reshape, so gradients (of any order) come
from those ops.

    F.pixel_shuffle(x, 2)       # (N, C*4, H, W) -> (N, C, 2H, 2W): sub-pixel convolution's last step
    F.pixel_unshuffle(y, 2)     # its inverse
    F.channel_shuffle(x, 3)     # (N, C, *): channel g*(C/3) + k moves to k*3 + g (ShuffleNet)
"""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _check_factor(factor: int, argument: str, name: str) -> int:
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"{name}: {argument} must be a positive int, got {factor!r}")
    return int(factor)


def _check_image(input: Tensor, name: str) -> None:
    if input.ndim < 3:
        raise ValueError(f"{name}: expected input (*, C, H, W) with at least 3 dims, got shape {_shape(input)}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Move blocks of ``r*r`` channels into ``r x r`` spatial patches (``r = upscale_factor``).

    input: ``(*, C*r*r, H, W)`` -> ``(*, C, H*r, W*r)``, with ``out[..., c, h*r + i, w*r + j] =
    input[..., c*r*r + i*r + j, h, w]``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.pixel_shuffle(md.arange(4.0).reshape(1, 4, 1, 1), 2)
    tensor([[[[0., 1.],
              [2., 3.]]]])
    """
    name = "pixel_shuffle"
    factor = _check_factor(upscale_factor, "upscale_factor", name)
    _check_image(input, name)
    *batch, channels, height, width = _shape(input)
    if channels % (factor * factor):
        raise ValueError(
            f"{name}: the channel dim (-3) must be divisible by upscale_factor**2 = {factor * factor}, got input of "
            f"shape {_shape(input)} with {channels} channels"
        )
    lead = len(batch)
    blocks = input.reshape(*batch, channels // (factor * factor), factor, factor, height, width)
    patches = blocks.permute(*range(lead), lead, lead + 3, lead + 1, lead + 4, lead + 2)
    return patches.reshape(*batch, channels // (factor * factor), height * factor, width * factor)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of ``pixel_shuffle``: ``r x r`` spatial patches into ``r*r`` channels (``r = downscale_factor``).

    input: ``(*, C, H*r, W*r)`` -> ``(*, C*r*r, H, W)``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.pixel_unshuffle(md.arange(4.0).reshape(1, 1, 2, 2), 2).flatten()
    tensor([0., 1., 2., 3.])
    """
    name = "pixel_unshuffle"
    factor = _check_factor(downscale_factor, "downscale_factor", name)
    _check_image(input, name)
    *batch, channels, height, width = _shape(input)
    if height % factor or width % factor:
        raise ValueError(
            f"{name}: height and width (dims -2, -1) must be divisible by downscale_factor = {factor}, got input "
            f"of shape {_shape(input)}"
        )
    lead = len(batch)
    patches = input.reshape(*batch, channels, height // factor, factor, width // factor, factor)
    blocks = patches.permute(*range(lead), lead, lead + 2, lead + 4, lead + 1, lead + 3)
    return blocks.reshape(*batch, channels * factor * factor, height // factor, width // factor)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave ``groups`` groups of channels: viewed as ``(N, groups, C/groups, *)``, the two group
    dims are swapped. input: ``(N, C, *)`` with at least one dim after C -> the same shape.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.channel_shuffle(md.arange(6.0).reshape(1, 6, 1), 2).flatten()
    tensor([0., 3., 1., 4., 2., 5.])
    """
    name = "channel_shuffle"
    groups = _check_factor(groups, "groups", name)
    if input.ndim < 3:
        raise ValueError(f"{name}: expected input (N, C, *) with more than 2 dims, got shape {_shape(input)}")
    batch, channels, *rest = _shape(input)
    if channels % groups:
        raise ValueError(
            f"{name}: the number of channels (dim 1) must be divisible by groups = {groups}, got input of shape "
            f"{_shape(input)} with {channels} channels"
        )
    grouped = input.reshape(batch, groups, channels // groups, *rest)
    return grouped.transpose(1, 2).reshape(_shape(input))
