"""Convolution by im2col/col2im: the kernels behind ``F.conv1d/conv2d/conv_transpose2d`` and
``F.unfold/fold``.

Everything is 2-D on ``(N, C, H, W)`` arrays (a 1-D convolution is a 2-D one with ``H = 1``).

im2col. ``sliding_windows`` is a strided *view* of the padded input, ``(N, C, kh, kw, Ho, Wo)``,
whose element ``[n, c, i, j, h, w]`` is ``x_padded[n, c, h*sh + i*dh, w*sw + j*dw]``. One
contiguous copy of it, laid out ``(C, kh, kw, N, Ho, Wo)``, is the column matrix of each group,
``(C/g*kh*kw, N*Ho*Wo)``, so a convolution is one large GEMM per group::

    out[g] = weight[g] (O/g, C/g*kh*kw)  @  columns[g] (C/g*kh*kw, N*Ho*Wo)

whose ``(O, N, Ho, Wo)`` result needs one transposing copy to become NCHW.

col2im, the adjoint, adds columns back onto the padded input. It loops over the ``kh*kw``
kernel offsets only: each offset is one strided slice of the output, so the scatter is
``kh*kw`` vectorised additions (no ``np.add.at``).

Channels last. With more than a few input channels (``channels_last``), the columns are laid out
the other way round, ``(N*Ho*Wo, kh*kw*C)``, from a channels-last copy of the padded input: each
window row is then ``kw*C`` contiguous values, so im2col copies long runs instead of rows of
``Wo`` values, and col2im (``cpu_kernels.col2im_channels_last`` on the CPU) adds runs of ``C``.
The GEMMs are the same products transposed (``columns @ weight^T``); the output's one
transposing copy becomes NHWC -> NCHW. Small ``C`` (a first layer on images) keeps the layout
above, whose runs are ``Wo`` long.

Three ops close the family under differentiation, so double backward needs nothing more:

* ``Conv2dOp(x, w)``:               y  = conv(x, w)
* ``ConvTranspose2dOp(y, w)``:      x  = conv^T(y, w), the adjoint of conv in ``x``
* ``Conv2dWeightGradOp(x, y)``:     w  = the adjoint of conv in ``w``

  d conv(x, w)        = conv^T(dy, w) for x,   weight_grad(x, dy) for w
  d conv^T(y, w)      = conv(dx, w) for y,     weight_grad(dx, y) for w
  d weight_grad(x, y) = conv^T(y, dw) for x,   conv(x, dw) for y
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..autograd.function import Op
from ..autograd.grad_mode import _GradMode
from ..backend import array_module
from . import cpu_kernels
from .normalization import channel_sum


@dataclass(frozen=True)
class ConvGeometry:
    """How a kernel slides: ``stride (sh, sw)``, ``padding (top, bottom, left, right)``,
    ``dilation (dh, dw)`` and ``groups``."""

    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    groups: int = 1

    def padded_size(self, size: tuple[int, int]) -> tuple[int, int]:
        top, bottom, left, right = self.padding
        return size[0] + top + bottom, size[1] + left + right

    def output_size(self, size: tuple[int, int], kernel_size: tuple[int, int]) -> tuple[int, int]:
        """``floor((padded - dilation*(kernel-1) - 1) / stride) + 1`` per spatial dim."""
        padded = self.padded_size(size)
        return tuple(
            (p - d * (k - 1) - 1) // s + 1
            for p, k, s, d in zip(padded, kernel_size, self.stride, self.dilation)
        )


def pad_spatial(x: Any, padding: tuple[int, int, int, int], value: float = 0.0) -> Any:
    """``x (..., H, W)`` with ``(top, bottom, left, right)`` rows/columns of ``value`` around it."""
    if not any(padding):
        return x
    xp = array_module(x)
    top, bottom, left, right = padding
    height, width = x.shape[-2:]
    out = xp.full(x.shape[:-2] + (height + top + bottom, width + left + right), value, dtype=x.dtype)
    out[..., top:top + height, left:left + width] = x
    return out


def sliding_windows(x: Any, kernel_size: tuple[int, int], stride: tuple[int, int],
                    dilation: tuple[int, int], output_size: tuple[int, int]) -> Any:
    """A view ``(..., kh, kw, Ho, Wo)`` of ``x (..., H, W)``: ``[..., i, j, h, w] = x[..., h*sh + i*dh, w*sw + j*dw]``.

    No copy; the caller must make sure every window lies inside ``x``.
    """
    xp = array_module(x)
    row_stride, column_stride = x.strides[-2:]
    shape = x.shape[:-2] + tuple(kernel_size) + tuple(output_size)
    strides = x.strides[:-2] + (
        row_stride * dilation[0], column_stride * dilation[1], row_stride * stride[0], column_stride * stride[1],
    )
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def col2im(columns: Any, size: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]) -> Any:
    """The adjoint of ``sliding_windows``: ``columns (..., kh, kw, Ho, Wo)`` summed into ``(..., H, W)``.

    One strided slice per kernel offset, so the scatter costs ``kh*kw`` array additions.
    """
    xp = array_module(columns)
    *lead, kernel_h, kernel_w, out_h, out_w = columns.shape
    out = xp.zeros(tuple(lead) + tuple(size), dtype=columns.dtype)
    for i in range(kernel_h):
        rows = slice(i * dilation[0], i * dilation[0] + (out_h - 1) * stride[0] + 1, stride[0])
        for j in range(kernel_w):
            cols = slice(j * dilation[1], j * dilation[1] + (out_w - 1) * stride[1] + 1, stride[1])
            out[..., rows, cols] += columns[..., i, j, :, :]
    return out


def conv_columns(x: Any, kernel_size: tuple[int, int], geometry: ConvGeometry, output_size: tuple[int, int]) -> Any:
    """im2col: ``x (N, C, H, W)`` -> ``(groups, C/groups*kh*kw, N*Ho*Wo)``, one contiguous copy."""
    xp = array_module(x)
    n = x.shape[0]
    windows = sliding_windows(pad_spatial(x, geometry.padding), kernel_size, geometry.stride,
                              geometry.dilation, output_size)
    columns = xp.ascontiguousarray(windows.transpose(1, 2, 3, 0, 4, 5))  # (C, kh, kw, N, Ho, Wo)
    return columns.reshape(geometry.groups, -1, n * output_size[0] * output_size[1])


def output_matrix(y: Any, groups: int) -> Any:
    """``y (N, O, Ho, Wo)`` -> ``(groups, O/groups, N*Ho*Wo)``, the GEMM layout of a conv output."""
    xp = array_module(y)
    n, channels, out_h, out_w = y.shape
    return xp.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(groups, channels // groups, n * out_h * out_w)


def _weight_matrix(weight: Any, groups: int) -> Any:
    """``weight (O, C/g, kh, kw)`` -> ``(groups, O/g, C/g*kh*kw)`` (a view)."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def _nchw(matrix: Any, n: int, size: tuple[int, int], bias: Any) -> Any:
    """GEMM result ``(groups, O/g, N*Ho*Wo)`` -> contiguous ``(N, O, Ho, Wo)``, plus bias."""
    xp = array_module(matrix)
    out = matrix.reshape(-1, n, size[0], size[1])
    if bias is not None:
        out += bias.reshape(-1, 1, 1, 1)
    return xp.ascontiguousarray(out.transpose(1, 0, 2, 3))


# ---- channels last ---------------------------------------------------------------------------


def channels_last(channels: int, kernel_w: int, groups: int) -> bool:
    """Whether a convolution whose input has ``channels`` channels runs channels last: when a window
    row, ``kernel_w * channels`` values, is a longer run to copy than an output row."""
    return groups == 1 and channels * kernel_w >= 16


def columns_last(x: Any, kernel_size: tuple[int, int], geometry: ConvGeometry, output_size: tuple[int, int]) -> Any:
    """im2col, channels last: ``x (N, C, H, W)`` -> ``(N*Ho*Wo, kh*kw*C)``.

    One copy makes the padded input NHWC, a second copies its windows ``(N, Ho, Wo, kh, kw, C)``."""
    xp = array_module(x)
    n, channels, height, width = x.shape
    top, bottom, left, right = geometry.padding
    padded = xp.zeros((n, height + top + bottom, width + left + right, channels), dtype=x.dtype)
    padded[:, top:top + height, left:left + width, :] = x.transpose(0, 2, 3, 1)
    windows = sliding_windows(padded.transpose(0, 3, 1, 2), kernel_size, geometry.stride, geometry.dilation,
                              output_size)  # (N, C, kh, kw, Ho, Wo)
    columns = xp.ascontiguousarray(windows.transpose(0, 4, 5, 2, 3, 1))
    return columns.reshape(n * output_size[0] * output_size[1], -1)


def output_matrix_last(y: Any) -> Any:
    """``y (N, O, Ho, Wo)`` -> ``(N*Ho*Wo, O)``, the GEMM layout of a channels-last conv output."""
    return array_module(y).ascontiguousarray(y.transpose(0, 2, 3, 1)).reshape(-1, y.shape[1])


def _weight_matrix_last(weight: Any) -> Any:
    """``weight (O, C, kh, kw)`` -> ``(kh*kw*C, O)``, rows in the order of channels-last columns."""
    return weight.transpose(2, 3, 1, 0).reshape(-1, weight.shape[0])


def col2im_last(columns: Any, size: tuple[int, int], geometry: ConvGeometry) -> Any:
    """The adjoint of ``columns_last``: ``(N, Ho, Wo, kh, kw, C)`` summed into ``(N, H, W, C)``."""
    if cpu_kernels.enabled_for(columns):
        return cpu_kernels.col2im_channels_last(columns, size, geometry.stride, geometry.padding, geometry.dilation)
    xp = array_module(columns)
    n, out_h, out_w, kernel_h, kernel_w, channels = columns.shape
    top, _, left, _ = geometry.padding
    height, width = geometry.padded_size(size)
    padded = xp.zeros((n, height, width, channels), dtype=columns.dtype)
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    for i in range(kernel_h):
        rows = slice(i * dh, i * dh + (out_h - 1) * sh + 1, sh)
        for j in range(kernel_w):
            padded[:, rows, j * dw:j * dw + (out_w - 1) * sw + 1:sw, :] += columns[:, :, :, i, j, :]
    return padded[:, top:top + size[0], left:left + size[1], :]


def _nchw_from_last(out: Any, bias: Any) -> Any:
    """``(N, Ho, Wo, O)`` -> contiguous ``(N, O, Ho, Wo)``, plus bias."""
    if bias is not None:
        out += bias
    return array_module(out).ascontiguousarray(out.transpose(0, 3, 1, 2))


def conv_layout_columns(x: Any, kernel_size: tuple[int, int], geometry: ConvGeometry,
                        output_size: tuple[int, int]) -> Any:
    """im2col in the layout ``channels_last`` picks for ``x``."""
    if channels_last(x.shape[1], kernel_size[1], geometry.groups):
        return columns_last(x, kernel_size, geometry, output_size)
    return conv_columns(x, kernel_size, geometry, output_size)


def conv_layout_output(y: Any, channels: int, kernel_w: int, groups: int) -> Any:
    """``y``, an output (or its gradient) of a conv whose input has ``channels`` channels, as a GEMM operand."""
    if channels_last(channels, kernel_w, groups):
        return output_matrix_last(y)
    return output_matrix(y, groups)


# ---- the three convolutions on arrays -------------------------------------------------------------


def conv2d_forward(x: Any, weight: Any, bias: Any, geometry: ConvGeometry, output_size: tuple[int, int],
                   columns: Any = None) -> Any:
    """``x (N, C, H, W)``, ``weight (O, C/g, kh, kw)`` -> ``(N, O, Ho, Wo)`` (arrays)."""
    xp = array_module(x)
    if columns is None:
        columns = conv_layout_columns(x, weight.shape[2:], geometry, output_size)
    if channels_last(x.shape[1], weight.shape[3], geometry.groups):
        weight_matrix = _weight_matrix_last(weight)
        if weight.shape[0] < 64:  # few output channels: BLAS is faster on (O, K) @ (K, N*Ho*Wo)
            return _nchw(xp.matmul(weight_matrix.T, columns.T)[None], x.shape[0], output_size, bias)
        out = xp.matmul(columns, weight_matrix)
        return _nchw_from_last(out.reshape((x.shape[0],) + tuple(output_size) + (-1,)), bias)
    out = xp.matmul(_weight_matrix(weight, geometry.groups), columns)
    return _nchw(out, x.shape[0], output_size, bias)


def conv_transpose2d_forward(y: Any, weight: Any, bias: Any, geometry: ConvGeometry,
                             input_size: tuple[int, int], y_matrix: Any = None) -> Any:
    """The adjoint of conv in x: ``y (N, O, Ho, Wo)``, ``weight (O, C/g, kh, kw)`` -> ``(N, C, H, W)``."""
    xp = array_module(y)
    n, _, out_h, out_w = y.shape
    kernel_h, kernel_w = weight.shape[2:]
    if channels_last(weight.shape[1], kernel_w, geometry.groups):
        if y_matrix is None:
            y_matrix = output_matrix_last(y)
        columns = xp.matmul(y_matrix, _weight_matrix_last(weight).T)
        columns = columns.reshape(n, out_h, out_w, kernel_h, kernel_w, -1)
        return _nchw_from_last(col2im_last(columns, input_size, geometry), bias)
    if y_matrix is None:
        y_matrix = output_matrix(y, geometry.groups)
    columns = xp.matmul(_weight_matrix(weight, geometry.groups).transpose(0, 2, 1), y_matrix)
    columns = columns.reshape(-1, kernel_h, kernel_w, n, out_h, out_w).transpose(0, 3, 1, 2, 4, 5)
    padded = col2im(columns, geometry.padded_size(input_size), geometry.stride, geometry.dilation)  # (C, N, Hp, Wp)
    top, _, left, _ = geometry.padding
    out = padded[:, :, top:top + input_size[0], left:left + input_size[1]]
    if bias is not None:
        out += bias.reshape(-1, 1, 1, 1)
    return xp.ascontiguousarray(out.transpose(1, 0, 2, 3))


def conv2d_weight_grad_forward(x: Any, y: Any, geometry: ConvGeometry, kernel_size: tuple[int, int],
                               columns: Any = None, y_matrix: Any = None) -> Any:
    """The adjoint of conv in w: ``x (N, C, H, W)``, ``y (N, O, Ho, Wo)`` -> ``(O, C/g, kh, kw)``."""
    xp = array_module(x)
    if columns is None:
        columns = conv_layout_columns(x, kernel_size, geometry, y.shape[2:])
    if channels_last(x.shape[1], kernel_size[1], geometry.groups):
        if y_matrix is None:
            y_matrix = output_matrix_last(y)
        grad = xp.matmul(y_matrix.T, columns)  # (O, kh*kw*C)
        grad = grad.reshape((y.shape[1],) + tuple(kernel_size) + (x.shape[1],))
        return xp.ascontiguousarray(grad.transpose(0, 3, 1, 2))
    if y_matrix is None:
        y_matrix = output_matrix(y, geometry.groups)
    grad = xp.matmul(y_matrix, columns.transpose(0, 2, 1))  # (groups, O/g, C/g*kh*kw)
    return grad.reshape((y.shape[1], x.shape[1] // geometry.groups) + tuple(kernel_size))


def _bias_grad(grad: Any) -> Any:
    """``grad (N, O, Ho, Wo)`` summed to ``(O,)``: a matrix-vector product unless a graph is being built."""
    if _GradMode.enabled:
        return grad.sum((0, 2, 3))
    return type(grad)._make(channel_sum(grad._data))


class Conv2dOp(Op):
    """``y = conv(x, w) + b`` (cross-correlation, PyTorch's convention).

    ``output_size`` keeps only the first windows; by default, all that fit. (The gradient of a
    transposed convolution with ``output_padding`` below the dilation needs fewer than fit.)
    """

    op_name = "conv2d"

    @staticmethod
    def forward(ctx, x, weight, bias, geometry, output_size=None):
        if output_size is None:
            output_size = geometry.output_size(x.shape[2:], weight.shape[2:])
        ctx.geometry = geometry
        ctx.save_for_backward(x, weight)
        columns = conv_layout_columns(x, weight.shape[2:], geometry, tuple(output_size))
        # The weight gradient needs the same columns: keep them rather than redo im2col.
        ctx.columns = columns if ctx.needs_input_grad[1] else None
        return conv2d_forward(x, weight, bias, geometry, tuple(output_size), columns)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        geometry, columns, ctx.columns = ctx.geometry, ctx.columns, None
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        grad_matrix = None
        if needs_x and needs_w:  # both gradients read it: transpose once
            grad_matrix = conv_layout_output(grad._data, x.shape[1], weight.shape[3], geometry.groups)
        grad_x = grad_w = grad_b = None
        if needs_x:
            grad_x = ConvTranspose2dOp.apply(grad, weight, None, geometry, x.shape[2:], y_matrix=grad_matrix)
        if needs_w:
            grad_w = Conv2dWeightGradOp.apply(x, grad, geometry, weight.shape[2:], columns=columns,
                                              y_matrix=grad_matrix)
        if needs_b:
            grad_b = _bias_grad(grad)
        return grad_x, grad_w, grad_b  # none for geometry (and output_size, when given)


class ConvTranspose2dOp(Op):
    """``x = conv^T(y, w) + b``: the gradient of conv with respect to its input, as a layer."""

    op_name = "conv_transpose2d"

    @staticmethod
    def forward(ctx, y, weight, bias, geometry, input_size, y_matrix=None):
        ctx.geometry = geometry
        ctx.save_for_backward(y, weight)
        return conv_transpose2d_forward(y, weight, bias, geometry, tuple(input_size), y_matrix)

    @staticmethod
    def backward(ctx, grad):
        y, weight = ctx.saved_tensors
        geometry = ctx.geometry
        needs_y, needs_w, needs_b = ctx.needs_input_grad[:3]
        grad_y = Conv2dOp.apply(grad, weight, None, geometry, y.shape[2:]) if needs_y else None
        grad_w = Conv2dWeightGradOp.apply(grad, y, geometry, weight.shape[2:]) if needs_w else None
        grad_b = _bias_grad(grad) if needs_b else None
        return grad_y, grad_w, grad_b, None, None


class Conv2dWeightGradOp(Op):
    """``w = weight_grad(x, y)``: the gradient of conv with respect to its weight."""

    op_name = "conv2d_weight_grad"

    @staticmethod
    def forward(ctx, x, y, geometry, kernel_size, columns=None, y_matrix=None):
        ctx.geometry = geometry
        ctx.save_for_backward(x, y)
        return conv2d_weight_grad_forward(x, y, geometry, tuple(kernel_size), columns, y_matrix)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        geometry = ctx.geometry
        grad_x = ConvTranspose2dOp.apply(y, grad, None, geometry, x.shape[2:]) if ctx.needs_input_grad[0] else None
        grad_y = Conv2dOp.apply(x, grad, None, geometry, y.shape[2:]) if ctx.needs_input_grad[1] else None
        return grad_x, grad_y, None, None


class UnfoldOp(Op):
    """im2col as a tensor: ``x (N, C, H, W)`` -> ``(N, C*kh*kw, Ho*Wo)`` (``F.unfold``)."""

    op_name = "unfold"

    @staticmethod
    def forward(ctx, x, kernel_size, geometry):
        ctx.size, ctx.kernel_size, ctx.geometry = x.shape[2:], kernel_size, geometry
        output_size = geometry.output_size(x.shape[2:], kernel_size)
        windows = sliding_windows(pad_spatial(x, geometry.padding), kernel_size, geometry.stride,
                                  geometry.dilation, output_size)
        n, channels = x.shape[:2]
        return windows.reshape(n, channels * kernel_size[0] * kernel_size[1], -1)  # the one copy

    @staticmethod
    def backward(ctx, grad):
        return FoldOp.apply(grad, ctx.size, ctx.kernel_size, ctx.geometry), None, None


class FoldOp(Op):
    """col2im as a tensor: ``(N, C*kh*kw, L)`` summed into ``(N, C, H, W)`` (``F.fold``)."""

    op_name = "fold"

    @staticmethod
    def forward(ctx, columns, output_size, kernel_size, geometry):
        ctx.kernel_size, ctx.geometry = kernel_size, geometry
        n = columns.shape[0]
        blocks = geometry.output_size(output_size, kernel_size)
        columns = columns.reshape((n, -1) + tuple(kernel_size) + tuple(blocks))
        padded = col2im(columns, geometry.padded_size(output_size), geometry.stride, geometry.dilation)
        top, _, left, _ = geometry.padding
        return padded[:, :, top:top + output_size[0], left:left + output_size[1]].copy()

    @staticmethod
    def backward(ctx, grad):
        return UnfoldOp.apply(grad, ctx.kernel_size, ctx.geometry), None, None, None
