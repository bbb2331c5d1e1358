"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``AdaptiveMaxPool1d/2d``,
``MaxUnpool2d``. Attributes and reprs are PyTorch's; the computation is in ``F`` (see
``minidl/nn/functional_conv.py``).

    pool = nn.MaxPool2d(2)
    pool(md.randn(64, 16, 28, 28)).shape     # (64, 16, 14, 14)
"""

from __future__ import annotations

from typing import Any, Sequence

from ...tensor import Tensor
from .. import functional_conv as FC
from .._functional.pool1d import adaptive_avg_pool1d, adaptive_max_pool1d
from .module import Module


class _MaxPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")

    def forward(self, input: Tensor) -> Any:
        return FC.max_pooling(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                              self.return_indices, self.dims, self)


class MaxPool1d(_MaxPoolNd):
    """Max over windows of ``(N, C, L)``; see ``F.max_pool1d``."""

    dims = 1


class MaxPool2d(_MaxPoolNd):
    """Max over ``kernel_size`` windows of ``(N, C, H, W)``; with ``return_indices``, also the flat
    positions ``h*W + w`` that ``MaxUnpool2d`` takes. See ``F.max_pool2d``."""

    dims = 2


class AvgPool1d(Module):
    """Mean over windows of ``(N, C, L)``; see ``F.avg_pool1d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = FC.ntuple(kernel_size, 1, "kernel_size", type(self).__name__, minimum=1)
        self.stride = self.kernel_size if stride is None else FC.ntuple(stride, 1, "stride", "AvgPool1d", 1)
        self.padding = FC.ntuple(padding, 1, "padding", "AvgPool1d")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return FC.avg_pooling(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, None, 1, self)


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows of ``(N, C, H, W)``; see ``F.avg_pool2d``."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return FC.avg_pooling(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override, 2, self)


class AdaptiveAvgPool2d(Module):
    """Mean over windows that tile the input into ``output_size`` cells (``None`` keeps a dim);
    ``AdaptiveAvgPool2d(1)`` is global average pooling. See ``F.adaptive_avg_pool2d``."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Tensor:
        return FC.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max over windows that tile the input into ``output_size`` cells; see ``F.adaptive_max_pool2d``."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Any:
        return FC.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class MaxUnpool2d(Module):
    """The partial inverse of ``MaxPool2d``: values back at their indices, zeros elsewhere.

        pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        y, indices = pool(x)
        unpool(y, indices, output_size=x.shape).shape == x.shape
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = FC.ntuple(kernel_size, 2, "kernel_size", "MaxUnpool2d", minimum=1)
        self.stride = self.kernel_size if stride is None else FC.ntuple(stride, 2, "stride", "MaxUnpool2d", 1)
        self.padding = FC.ntuple(padding, 2, "padding", "MaxUnpool2d")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor, indices: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return FC.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class AdaptiveAvgPool1d(Module):
    """Mean over windows that tile ``L`` of ``(N, C, L)`` into ``output_size`` cells; see ``F.adaptive_avg_pool1d``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.AdaptiveAvgPool1d(1)(md.randn(8, 16, 50)).shape
    (8, 16, 1)
    """

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Tensor:
        _check_sequence(self, input)
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveMaxPool1d(Module):
    """Max over the windows of ``AdaptiveAvgPool1d``; with ``return_indices``, also the positions along ``L``.
    See ``F.adaptive_max_pool1d``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.AdaptiveMaxPool1d(4)(md.randn(8, 16, 50)).shape
    (8, 16, 4)
    """

    def __init__(self, output_size: int, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Any:
        _check_sequence(self, input)
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


def _check_sequence(layer: Module, input: Tensor) -> None:
    if input.ndim not in (2, 3):
        raise ValueError(f"{layer!r} expected input (N, C, L) or (C, L), got tensor of shape {tuple(input.shape)}")
