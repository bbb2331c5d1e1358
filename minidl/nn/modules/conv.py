"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d``.

Attributes, parameter names, shapes and default initialisation are PyTorch's, so a PyTorch
state dict loads by name::

    Conv1d / Conv2d      weight (out_channels, in_channels/groups, *kernel_size), bias (out_channels,)
    ConvTranspose2d      weight (in_channels, out_channels/groups, kh, kw),      bias (out_channels,)

    conv = nn.Conv2d(1, 16, 3, padding=1)
    conv(md.randn(64, 1, 28, 28)).shape     # (64, 16, 28, 28)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ... import creation
from ...ops.indexing import pad
from ...random import generator_for
from ...tensor import Tensor
from .. import functional_conv as FC
from ..parameter import Parameter
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _uniform_(parameter: Tensor, bound: float) -> None:
    """Fill ``parameter`` in place from U(-bound, bound), drawn from minidl's seeded generator.

    (Stands in for ``nn.init.uniform_``, which did not exist yet when this was written.)
    """
    xp = parameter._xp()
    parameter._data[...] = generator_for(xp).uniform(-bound, bound, parameter.shape)


class _ConvNd(Module):
    """What the convolution layers share: hyperparameters, parameters, init and repr."""

    dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any, groups: int, bias: bool, padding_mode: str, output_padding: Any = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by "
                f"groups ({groups})"
            )
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}")
        dims = self.dims
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = FC.ntuple(kernel_size, dims, "kernel_size", name, minimum=1)
        self.stride = FC.ntuple(stride, dims, "stride", name, minimum=1)
        self.dilation = FC.ntuple(dilation, dims, "dilation", name, minimum=1)
        if isinstance(padding, str):
            FC.conv_padding(padding, self.kernel_size, self.stride, self.dilation, name)  # validates
            self.padding: Any = padding
        else:
            self.padding = FC.ntuple(padding, dims, "padding", name)
        self.output_padding = FC.ntuple(output_padding, dims, "output_padding", name)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(creation.empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty((out_channels,), device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(weight, a=sqrt(5))``, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        and the bias from the same range, with ``fan_in = weight.shape[1] * prod(kernel_size)``."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        _uniform_(self.weight, bound)
        if self.bias is not None:
            _uniform_(self.bias, bound)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"  # 'same' prints unquoted, as in PyTorch
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._pad_input(input)
        return FC.convolution(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups,
                              self.dims, self)

    def _pad_input(self, input: Tensor) -> tuple[Tensor, Any]:
        """For a non-zero ``padding_mode``: the explicitly padded input, and the conv's padding (0)."""
        if self.padding_mode == "zeros":
            return input, self.padding
        pads = FC.conv_padding(self.padding, self.kernel_size, self.stride, self.dilation, self)
        per_dim = [(pads[2 * i], pads[2 * i + 1]) for i in range(self.dims)]
        return pad(input, [p for pair in reversed(per_dim) for p in pair], mode=self.padding_mode), 0


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)`` -> ``(N, C_out, L_out)``; see ``F.conv1d``.

        nn.Conv1d(4, 8, 3, padding='same')(md.randn(2, 4, 10)).shape    # (2, 8, 10)
    """

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)``; see ``F.conv2d``.

        nn.Conv2d(1, 16, 3, padding=1)(md.randn(64, 1, 28, 28)).shape   # (64, 16, 28, 28)
    """

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution ``(N, C_in, H, W)`` -> ``(N, C_out, H_out, W_out)`` with
    ``H_out = (H-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``; see ``F.conv_transpose2d``.

        up = nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1)
        up(md.randn(8, 128, 7, 7)).shape          # (8, 64, 14, 14)
        up(md.randn(8, 128, 7, 7), output_size=(13, 13)).shape   # output_padding chosen to fit
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode='zeros' is supported, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device=device, dtype=dtype)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self.output_padding if output_size is None else self._output_padding(input, output_size)
        return FC.conv_transpose(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                 self.groups, self.dilation, self)

    def _output_padding(self, input: Tensor, output_size: Sequence[int]) -> tuple[int, ...]:
        """The ``output_padding`` that makes the output ``output_size`` (the last two entries count)."""
        wanted = tuple(int(n) for n in tuple(output_size)[-2:])
        smallest = FC.conv_transpose_output_size(tuple(input.shape[-2:]), self.kernel_size, self.stride,
                                                 self.padding, (0, 0), self.dilation)
        extra = tuple(w - s for w, s in zip(wanted, smallest))
        if any(e < 0 or e >= max(st, d) for e, st, d in zip(extra, self.stride, self.dilation)):
            largest = tuple(s + max(st, d) - 1 for s, st, d in zip(smallest, self.stride, self.dilation))
            raise ValueError(
                f"{self!r}: output_size {wanted} is not reachable from an input of shape {tuple(input.shape)}; "
                f"sizes from {smallest} to {largest} are"
            )
        return extra
