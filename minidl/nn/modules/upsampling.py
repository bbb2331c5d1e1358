"""Resampling layers: ``Upsample`` (``F.interpolate`` as a module), ``UpsamplingNearest2d`` and
``UpsamplingBilinear2d`` (its fixed-mode forms, as in PyTorch).

    nn.Upsample(scale_factor=2, mode='nearest')(md.randn(8, 64, 7, 7)).shape    # (8, 64, 14, 14)
"""

from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from .. import functional_conv as FC
from .module import Module


class Upsample(Module):
    """Resize ``(N, C, L)`` / ``(N, C, H, W)`` to ``size`` or by ``scale_factor``; ``mode`` is
    ``'nearest'``, ``'linear'``, ``'bilinear'`` (with ``align_corners``) or ``'area'``."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor: Any = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"

    def forward(self, input: Tensor) -> Tensor:
        return FC.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                              self.recompute_scale_factor)


class _Upsampling2d(Upsample):
    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None) -> None:
        super().__init__(size, scale_factor, mode, align_corners)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim != 4:
            raise ValueError(f"{self!r} expected input (N, C, H, W), got tensor of shape {tuple(input.shape)}")
        return super().forward(input)


class UpsamplingNearest2d(_Upsampling2d):
    """``Upsample(size, scale_factor, mode='nearest')`` for ``(N, C, H, W)``: each output pixel copies
    the input pixel ``floor(out_index / scale)``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.UpsamplingNearest2d(scale_factor=2)(md.tensor([[[[1.0, 2.0]]]]))
    tensor([[[[1., 1., 2., 2.],
              [1., 1., 2., 2.]]]])
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(_Upsampling2d):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for ``(N, C, H, W)``: the
    corner pixels of input and output coincide.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.UpsamplingBilinear2d(size=(1, 3))(md.tensor([[[[0.0, 1.0]]]]))
    tensor([[[[0. , 0.5, 1. ]]]])
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, "bilinear", True)
