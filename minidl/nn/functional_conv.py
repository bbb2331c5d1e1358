"""Convolution, pooling and resampling functions, with PyTorch's signatures (``F.conv2d`` etc.).

Images are ``(N, C, H, W)`` (or unbatched ``(C, H, W)``), sequences ``(N, C, L)``. The kernels
are in ``minidl/ops/conv.py``, ``pool.py`` and ``upsample.py``; this file checks arguments,
normalises them (an int ``k`` means ``(k, k)``) and reports mistakes by naming the function or
layer, what it expected and what it got.

    x = md.randn(8, 3, 32, 32)
    w = md.randn(16, 3, 3, 3)
    F.conv2d(x, w, padding=1).shape            # (8, 16, 32, 32)
    F.max_pool2d(x, 2).shape                   # (8, 3, 16, 16)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..ops.conv import Conv2dOp, ConvGeometry, ConvTranspose2dOp, FoldOp, UnfoldOp
from ..ops.pool import (
    AdaptiveMaxPool2dOp,
    MaxPool2dOp,
    PlaneScatterOp,
    PoolGeometry,
    SumWindowsOp,
    flat_indices,
)
from ..ops.upsample import upsample_linear, upsample_nearest
from ..tensor import Tensor

IntOrPair = Any  # an int, or a tuple of one int per spatial dim
# ``who`` arguments name the caller in errors: a function's name, or the layer itself (printed
# only when an error is raised, so a layer's repr is not built on every call).


def ntuple(value: IntOrPair, dims: int, name: str, who: Any, minimum: int = 0) -> tuple[int, ...]:
    """``value`` as a tuple of ``dims`` ints (an int is repeated), each at least ``minimum``."""
    values = (value,) * dims if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != dims or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{who}: {name} must be an int or a tuple of {dims} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{who}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


# ---- convolution -------------------------------------------------------------------------


def conv_padding(padding: IntOrPair | str, kernel_size: tuple[int, ...], stride: tuple[int, ...],
                 dilation: tuple[int, ...], who: Any) -> tuple[int, ...]:
    """``(before, after)`` per spatial dim, flattened. ``'same'`` pads ``dilation*(kernel-1)`` in
    total, the odd one after (as PyTorch and TensorFlow); it needs stride 1, as in PyTorch."""
    dims = len(kernel_size)
    if padding == "valid":
        return (0,) * (2 * dims)
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ValueError(
                f"{who}: padding='same' is not supported for strided convolutions (stride={stride}), as in "
                "PyTorch; pad explicitly with F.pad (TensorFlow's rule: total = max((out-1)*stride + kernel - in, 0), "
                "the odd pixel at the bottom/right) and use padding=0"
            )
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        return sum(((t // 2, t - t // 2) for t in totals), ())
    if isinstance(padding, str):
        raise ValueError(f"{who}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    return sum(((p, p) for p in ntuple(padding, dims, "padding", who)), ())


def _check_conv_input(input: Tensor, weight: Tensor, bias: Tensor | None, groups: int, dims: int,
                      transposed: bool, who: Any) -> None:
    layout = "(N, C, L) or unbatched (C, L)" if dims == 1 else "(N, C, H, W) or unbatched (C, H, W)"
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{who} expected a {dims + 2}-D input {layout}, got tensor of shape {_shape(input)}")
    if weight.ndim != dims + 2:
        raise ValueError(f"{who}: weight must be {dims + 2}-D, got shape {_shape(weight)}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{who}: groups must be a positive int, got {groups!r}")
    # conv weight: (out, in/groups, *kernel); conv_transpose weight: (in, out/groups, *kernel)
    in_channels = weight.shape[0] if transposed else weight.shape[1] * groups
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if weight.shape[0] % groups:
        raise ValueError(
            f"{who}: weight.shape[0] ({weight.shape[0]}, the {'in' if transposed else 'out'}_channels) must be "
            f"divisible by groups ({groups})"
        )
    if input.shape[-dims - 1] != in_channels:
        raise ValueError(f"{who} expected input with {in_channels} channels, got tensor of shape {_shape(input)}")
    if input.dtype != weight.dtype:
        raise TypeError(
            f"{who} got an input of dtype {input.dtype} but a weight of dtype {weight.dtype}; convert the input "
            "(x.float() / x.double()) or the layer (.float() / .double()) so that they match"
        )
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"{who}: bias must have shape ({out_channels},), one value per output channel, "
                         f"got {_shape(bias)}")


def _as_2d(input: Tensor, dims: int) -> tuple[Tensor, bool]:
    """``(N, C, H, W)`` from a batched or unbatched, 1-D or 2-D input; whether it was unbatched."""
    unbatched = input.ndim == dims + 1
    if unbatched:
        input = input.unsqueeze(0)
    return (input.unsqueeze(2) if dims == 1 else input), unbatched


def _from_2d(output: Tensor, dims: int, unbatched: bool) -> Tensor:
    if dims == 1:
        output = output.squeeze(2)
    return output.squeeze(0) if unbatched else output


def _lift(values: tuple[int, ...], dims: int, fill: int) -> tuple[int, ...]:
    """Per-dim values of a 1-D op as those of the equivalent 2-D op (height 1)."""
    return (fill,) * (2 - dims) + values


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrPair, padding: IntOrPair | str,
                dilation: IntOrPair, groups: int, dims: int, who: Any) -> Tensor:
    """``conv1d``/``conv2d`` with the layer or function named ``who`` in errors."""
    _check_conv_input(input, weight, bias, groups, dims, False, who)
    kernel_size = tuple(weight.shape[2:])
    stride = ntuple(stride, dims, "stride", who, minimum=1)
    dilation = ntuple(dilation, dims, "dilation", who, minimum=1)
    pads = conv_padding(padding, kernel_size, stride, dilation, who)
    size = tuple(input.shape[-dims:])
    padded = tuple(n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(size))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    if any(p < e for p, e in zip(padded, extent)):
        raise ValueError(
            f"{who} got an input of size {'x'.join(map(str, size))} (padded: {'x'.join(map(str, padded))}), "
            f"smaller than the kernel's extent {'x'.join(map(str, extent))} (kernel_size {kernel_size}, dilation "
            f"{dilation}); use a larger input, more padding, or a smaller kernel"
        )
    x, unbatched = _as_2d(input, dims)
    geometry = ConvGeometry(_lift(stride, dims, 1), (0, 0) * (2 - dims) + pads, _lift(dilation, dims, 1), int(groups))
    w = weight.unsqueeze(2) if dims == 1 else weight
    return _from_2d(Conv2dOp.apply(x, w, bias, geometry), dims, unbatched)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation. input: ``(N, C_in, L)``; weight: ``(C_out, C_in/groups, k)``;
    bias: ``(C_out,)`` -> ``(N, C_out, L_out)``.

        F.conv1d(md.randn(2, 4, 10), md.randn(6, 4, 3), padding='same').shape   # (2, 6, 10)
    """
    return convolution(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation. input: ``(N, C_in, H, W)``; weight: ``(C_out, C_in/groups, kh, kw)``;
    bias: ``(C_out,)`` -> ``(N, C_out, H_out, W_out)``, ``H_out = (H + 2p - d*(kh-1) - 1) // s + 1``.

        F.conv2d(md.randn(8, 3, 28, 28), md.randn(16, 3, 3, 3), padding=1).shape   # (8, 16, 28, 28)
    """
    return convolution(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv_transpose_output_size(size: tuple[int, ...], kernel_size: tuple[int, ...], stride: tuple[int, ...],
                               padding: tuple[int, ...], output_padding: tuple[int, ...],
                               dilation: tuple[int, ...]) -> tuple[int, ...]:
    """``(in - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1`` per dim."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for n, k, s, p, op, d in zip(size, kernel_size, stride, padding, output_padding, dilation))


def conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrPair, padding: IntOrPair,
                   output_padding: IntOrPair, groups: int, dilation: IntOrPair, who: Any) -> Tensor:
    """``conv_transpose2d`` with the layer or function named ``who`` in errors."""
    _check_conv_input(input, weight, bias, groups, 2, True, who)
    stride = ntuple(stride, 2, "stride", who, minimum=1)
    dilation = ntuple(dilation, 2, "dilation", who, minimum=1)
    padding = ntuple(padding, 2, "padding", who)
    output_padding = ntuple(output_padding, 2, "output_padding", who)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{who}: output_padding {output_padding} must be smaller than either stride {stride} or "
            f"dilation {dilation}"
        )
    size = conv_transpose_output_size(tuple(input.shape[-2:]), tuple(weight.shape[2:]), stride, padding,
                                      output_padding, dilation)
    if any(n < 1 for n in size):
        raise ValueError(
            f"{who} got an input of shape {_shape(input)}, for which the output size {size} is not positive; "
            "use a larger input or less padding"
        )
    x, unbatched = _as_2d(input, 2)
    geometry = ConvGeometry(stride, (padding[0], padding[0], padding[1], padding[1]), dilation, int(groups))
    return _from_2d(ConvTranspose2dOp.apply(x, weight, bias, geometry, size), 2, unbatched)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrPair = 1,
                     padding: IntOrPair = 0, output_padding: IntOrPair = 0, groups: int = 1,
                     dilation: IntOrPair = 1) -> Tensor:
    """Transposed convolution (the gradient of ``conv2d`` with respect to its input).

    input: ``(N, C_in, H, W)``; weight: ``(C_in, C_out/groups, kh, kw)``; bias: ``(C_out,)`` ->
    ``(N, C_out, H_out, W_out)`` with ``H_out = (H-1)*s - 2p + d*(kh-1) + output_padding + 1``.

        F.conv_transpose2d(md.randn(2, 128, 7, 7), md.randn(128, 64, 5, 5), stride=2, padding=2,
                           output_padding=1).shape                                  # (2, 64, 14, 14)
    """
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                          "conv_transpose2d")


def unfold(input: Tensor, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
           stride: IntOrPair = 1) -> Tensor:
    """im2col: the sliding blocks of ``input (N, C, H, W)`` as columns ``(N, C*kh*kw, L)``, ``L`` the
    number of blocks; channel-major, then kernel row, then kernel column, as PyTorch.

        F.unfold(md.randn(1, 2, 4, 4), 2).shape     # (1, 8, 9)
    """
    kernel_size, geometry = _fold_geometry(kernel_size, dilation, padding, stride, "unfold")
    if input.ndim not in (3, 4):
        raise ValueError(f"unfold expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape {_shape(input)}")
    x, unbatched = _as_2d(input, 2)
    if any(n < 1 for n in geometry.output_size(x.shape[2:], kernel_size)):
        raise ValueError(f"unfold: the input {_shape(input)} (with padding) is smaller than the kernel {kernel_size}")
    out = UnfoldOp.apply(x, kernel_size, geometry)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
         padding: IntOrPair = 0, stride: IntOrPair = 1) -> Tensor:
    """col2im, the adjoint of ``unfold``: columns ``(N, C*kh*kw, L)`` summed into ``(N, C, *output_size)``
    (overlapping blocks add up).

        F.fold(F.unfold(x, 2, stride=2), x.shape[-2:], 2, stride=2)   # == x
    """
    kernel_size, geometry = _fold_geometry(kernel_size, dilation, padding, stride, "fold")
    output_size = ntuple(output_size, 2, "output_size", "fold", minimum=1)
    if input.ndim not in (2, 3):
        raise ValueError(f"fold expected a 3-D input (N, C*kh*kw, L) or 2-D, got shape {_shape(input)}")
    unbatched = input.ndim == 2
    columns = input.unsqueeze(0) if unbatched else input
    blocks = geometry.output_size(output_size, kernel_size)
    per_channel = kernel_size[0] * kernel_size[1]
    if columns.shape[1] % per_channel or columns.shape[2] != blocks[0] * blocks[1]:
        raise ValueError(
            f"fold expected an input (N, C*{per_channel}, {blocks[0] * blocks[1]}) for output_size {output_size}, "
            f"kernel_size {kernel_size} (C*kh*kw columns, one per block), got shape {_shape(input)}"
        )
    out = FoldOp.apply(columns, output_size, kernel_size, geometry)
    return out.squeeze(0) if unbatched else out


def _fold_geometry(kernel_size: IntOrPair, dilation: IntOrPair, padding: IntOrPair, stride: IntOrPair,
                   who: Any) -> tuple[tuple[int, int], ConvGeometry]:
    kernel_size = ntuple(kernel_size, 2, "kernel_size", who, minimum=1)
    padding = ntuple(padding, 2, "padding", who)
    geometry = ConvGeometry(ntuple(stride, 2, "stride", who, minimum=1),
                            (padding[0], padding[0], padding[1], padding[1]),
                            ntuple(dilation, 2, "dilation", who, minimum=1))
    return kernel_size, geometry


# ---- pooling -----------------------------------------------------------------------------


def _pool_geometry(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
                   dilation: IntOrPair, ceil_mode: bool, dims: int, who: Any) -> PoolGeometry:
    layout = "(N, C, L) or unbatched (C, L)" if dims == 1 else "(N, C, H, W) or unbatched (C, H, W)"
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{who} expected a {dims + 2}-D input {layout}, got tensor of shape {_shape(input)}")
    kernel_size = ntuple(kernel_size, dims, "kernel_size", who, minimum=1)
    stride = kernel_size if stride is None or stride == () or stride == [] else ntuple(stride, dims, "stride", who, 1)
    padding = ntuple(padding, dims, "padding", who)
    dilation = ntuple(dilation, dims, "dilation", who, minimum=1)
    if any(p > k // 2 for p, k in zip(padding, kernel_size)):
        raise ValueError(f"{who}: padding {padding} must be at most half of kernel_size {kernel_size}")
    geometry = PoolGeometry(_lift(kernel_size, dims, 1), _lift(stride, dims, 1), _lift(padding, dims, 0),
                            _lift(dilation, dims, 1), bool(ceil_mode))
    size = _lift(tuple(input.shape[-dims:]), dims, 1)
    if any(n < 1 for n in geometry.output_size(size)):
        raise ValueError(
            f"{who} got an input of shape {_shape(input)}, too small for kernel_size {kernel_size} with padding "
            f"{padding} and dilation {dilation} (the output would be empty)"
        )
    return geometry


def max_pooling(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
                dilation: IntOrPair, ceil_mode: bool, return_indices: bool, dims: int, who: Any) -> Any:
    """``max_pool1d``/``max_pool2d`` with the layer or function named ``who`` in errors."""
    geometry = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, dims, who)
    x, unbatched = _as_2d(input, dims)
    values, offsets = MaxPool2dOp.apply(x, geometry)
    values = _from_2d(values, dims, unbatched)
    if not return_indices:
        return values
    indices = Tensor._make(flat_indices(offsets._data, geometry, x.shape[2:]))
    return values, _from_2d(indices, dims, unbatched)


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over ``kernel_size`` windows (padding counts as -inf). ``(N, C, H, W)`` -> ``(N, C, Ho, Wo)``;
    with ``return_indices``, also the int64 position ``h*W + w`` of each max in its input plane.

        F.max_pool2d(md.randn(8, 16, 28, 28), 2).shape    # (8, 16, 14, 14)
    """
    return max_pooling(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool2d_with_indices(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                            padding: IntOrPair = 0, dilation: IntOrPair = 1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """``max_pool2d(..., return_indices=True)``: ``(values, indices)``."""
    return max_pooling(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2, "max_pool2d")


def max_pool1d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows of ``(N, C, L)``; indices are positions along ``L``."""
    return max_pooling(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def _window_counts(size: int, out: int, kernel: int, stride: int, padding: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output position: the window's length within the padded input, and within the input itself."""
    starts = np.arange(out) * stride - padding
    ends = np.minimum(starts + kernel, size + padding)
    return ends - starts, np.minimum(ends, size) - np.maximum(starts, 0)


def avg_pooling(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair,
                ceil_mode: bool, count_include_pad: bool, divisor_override: int | None, dims: int,
                who: Any) -> Tensor:
    """``avg_pool1d``/``avg_pool2d`` with the layer or function named ``who`` in errors."""
    geometry = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, dims, who)
    x, unbatched = _as_2d(input, dims)
    sums = SumWindowsOp.apply(x, None, geometry)
    if divisor_override:
        divisor: Any = divisor_override
    else:
        counts = [_window_counts(n, o, k, s, p)[0 if count_include_pad else 1] for n, o, k, s, p in zip(
            x.shape[2:], sums.shape[2:], geometry.kernel_size, geometry.stride, geometry.padding)]
        divisor = np.multiply.outer(counts[0], counts[1])
        if (divisor == divisor.flat[0]).all():
            divisor = int(divisor.flat[0])
        else:
            divisor = Tensor._make(x._xp().asarray(divisor.astype(x.dtype)))
    return _from_2d(sums / divisor, dims, unbatched)


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over ``kernel_size`` windows. ``count_include_pad``: zero padding counts in the mean;
    ``divisor_override``: divide every sum by this instead. ``(N, C, H, W)`` -> ``(N, C, Ho, Wo)``.

        F.avg_pool2d(md.randn(8, 16, 28, 28), 2).shape    # (8, 16, 14, 14)
    """
    return avg_pooling(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                       "avg_pool2d")


def avg_pool1d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over windows of ``(N, C, L)``."""
    return avg_pooling(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def _adaptive_size(input: Tensor, output_size: Any, who: Any) -> tuple[int, int]:
    if input.ndim not in (3, 4):
        raise ValueError(f"{who} expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape {_shape(input)}")
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{who}: output_size must be an int or a pair, got {output_size!r}")
    sizes = tuple(int(n if o is None else o) for o, n in zip(sizes, input.shape[-2:]))
    if any(o < 1 for o in sizes):
        raise ValueError(f"{who}: output_size must be positive, got {output_size!r}")
    return sizes


def _adaptive_average_matrix(size: int, output_size: int, like: Tensor) -> Tensor:
    """``(output_size, size)``: row ``i`` averages PyTorch's window ``[floor(i*n/o), ceil((i+1)*n/o))``."""
    matrix = np.zeros((output_size, size), dtype=like.dtype)
    for i in range(output_size):  # a loop over the few output positions, not over pixels
        start, end = (i * size) // output_size, -((-(i + 1) * size) // output_size)
        matrix[i, start:end] = 1.0 / (end - start)
    return Tensor._make(like._xp().asarray(matrix))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Mean over windows that tile ``(H, W)`` into ``output_size`` cells (``None`` keeps a dim), with
    PyTorch's windows ``[floor(i*H/Ho), ceil((i+1)*H/Ho))``.

        F.adaptive_avg_pool2d(md.randn(8, 64, 7, 7), 1).shape   # (8, 64, 1, 1)
    """
    out_h, out_w = _adaptive_size(input, output_size, "adaptive_avg_pool2d")
    height, width = input.shape[-2:]
    if height % out_h == 0 and width % out_w == 0:
        blocks = input.shape[:-2] + (out_h, height // out_h, out_w, width // out_w)
        return input.reshape(blocks).mean((-3, -1))
    # Windows of unequal length: averaging is separable, one small matrix per axis.
    rows = _adaptive_average_matrix(height, out_h, input)
    cols = _adaptive_average_matrix(width, out_w, input)
    return rows @ (input @ cols.transpose(0, 1))


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over PyTorch's adaptive windows (see ``adaptive_avg_pool2d``); with ``return_indices``, also
    the int64 positions ``h*W + w`` of the maxima.

        F.adaptive_max_pool2d(md.randn(8, 64, 10, 10), (3, 3)).shape   # (8, 64, 3, 3)
    """
    out_h, out_w = _adaptive_size(input, output_size, "adaptive_max_pool2d")
    height, width = input.shape[-2:]
    if height % out_h == 0 and width % out_w == 0:
        kernel = (height // out_h, width // out_w)
        return max_pooling(input, kernel, kernel, 0, 1, False, return_indices, 2, "adaptive_max_pool2d")
    x, unbatched = _as_2d(input, 2)
    values, indices = AdaptiveMaxPool2dOp.apply(x, (out_h, out_w))
    values = _from_2d(values, 2, unbatched)
    return (values, _from_2d(indices, 2, unbatched)) if return_indices else values


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of ``max_pool2d``: each value written at its index ``h*W + w`` in a zero
    plane, everything else 0. Default size ``(H_in - 1)*stride - 2*padding + kernel_size``.

        y, idx = F.max_pool2d(x, 2, return_indices=True)
        F.max_unpool2d(y, idx, 2).shape == x.shape
    """
    who = "max_unpool2d"
    if input.ndim not in (3, 4):
        raise ValueError(f"{who} expected a 4-D input (N, C, H, W) or 3-D (C, H, W), got shape {_shape(input)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise ValueError(f"{who}: indices must have the input's shape {_shape(input)}, got {_shape(indices)}")
    kernel_size = ntuple(kernel_size, 2, "kernel_size", who, minimum=1)
    stride = kernel_size if stride is None else ntuple(stride, 2, "stride", who, minimum=1)
    padding = ntuple(padding, 2, "padding", who)
    if output_size is None:
        size = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(input.shape[-2:], stride, padding, kernel_size))
    else:
        size = tuple(int(n) for n in tuple(output_size)[-2:])
    x, unbatched = _as_2d(input, 2)
    index_array = indices._data.reshape(x.shape[0], x.shape[1], -1)
    plane = size[0] * size[1]
    if index_array.size and (int(index_array.min()) < 0 or int(index_array.max()) >= plane):
        raise ValueError(
            f"{who}: indices must lie in [0, {plane}) for an output of size {size}, got values in "
            f"[{int(index_array.min())}, {int(index_array.max())}]; pass the output_size of the pooled input"
        )
    planes = PlaneScatterOp.apply(x.reshape(x.shape[0], x.shape[1], -1), index_array, plane, False)
    return _from_2d(planes.reshape(x.shape[:2] + size), 2, unbatched)


# ---- resampling ----------------------------------------------------------------------------

_LINEAR_MODES = {"linear": 1, "bilinear": 2}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> Tensor:
    """Resize the spatial dims of ``(N, C, L)`` / ``(N, C, H, W)`` to ``size`` or by ``scale_factor``.

    mode: ``'nearest'``, ``'linear'`` (3-D input), ``'bilinear'`` (4-D, with ``align_corners``) or
    ``'area'`` (adaptive average pooling, 4-D). Output size ``floor(in * scale_factor)``.

        F.interpolate(md.randn(1, 3, 14, 14), scale_factor=2, mode='bilinear').shape   # (1, 3, 28, 28)
    """
    who = "interpolate"
    dims = input.ndim - 2
    if dims < 1:
        raise ValueError(f"{who} expected a batched input (N, C, ...) with spatial dims, got shape {_shape(input)}")
    if mode not in ("nearest", "area") + tuple(_LINEAR_MODES):
        raise ValueError(f"{who}: mode must be 'nearest', 'linear', 'bilinear' or 'area', got {mode!r}")
    if mode in _LINEAR_MODES and _LINEAR_MODES[mode] != dims:
        raise ValueError(f"{who}: mode {mode!r} needs a {_LINEAR_MODES[mode] + 2}-D input, got shape {_shape(input)}")
    if align_corners is not None and mode not in _LINEAR_MODES:
        raise ValueError(f"{who}: align_corners can only be set with the linear modes ('linear', 'bilinear')")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{who}: give exactly one of size and scale_factor")
    spatial = tuple(input.shape[2:])
    if size is not None:
        out_size = ntuple(size, dims, "size", who, minimum=1)
        scales: tuple = (None,) * dims
    else:
        scales = tuple(float(s) for s in ((scale_factor,) * dims if np.isscalar(scale_factor) else scale_factor))
        if len(scales) != dims or any(s <= 0 for s in scales):
            raise ValueError(f"{who}: scale_factor must be positive, one per spatial dim, got {scale_factor!r}")
        out_size = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
        if any(o < 1 for o in out_size):
            raise ValueError(f"{who}: scale_factor {scale_factor!r} makes an empty output from {spatial}")
        if recompute_scale_factor:
            scales = (None,) * dims
    if mode == "nearest":
        return upsample_nearest(input, out_size, scales)
    if mode == "area":
        if dims != 2:
            raise ValueError(f"{who}: mode 'area' needs a 4-D input, got shape {_shape(input)}")
        return adaptive_avg_pool2d(input, out_size)
    return upsample_linear(input, out_size, scales, bool(align_corners))
