"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``InstanceNorm1d``, ``InstanceNorm2d``, ``LayerNorm``,
``GroupNorm``.

Parameters and buffers are PyTorch's (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``), so a PyTorch state dict loads by name::

    bn = nn.BatchNorm2d(16)
    bn(md.randn(8, 16, 5, 5))      # training: batch statistics; running ones updated
    bn.eval()(md.randn(1, 16, 5, 5))   # evaluation: running statistics
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

from ... import creation, dtypes
from ...tensor import Tensor
from .. import functional as F
from .. import init
from .._functional.instance_norm import instance_norm
from ..parameter import Parameter
from .module import Module


class _BatchNorm(Module):
    """Shared by ``BatchNorm1d/2d`` and ``InstanceNorm1d/2d`` (PyTorch's ``_NormBase``: the same parameters,
    buffers and repr); subclasses say which input ranks they take."""

    input_ranks: tuple[int, ...] = ()
    layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        vector = lambda: Parameter(creation.empty((num_features,), device=device, dtype=dtype))
        self.register_parameter("weight", vector() if affine else None)
        self.register_parameter("bias", vector() if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", creation.tensor(0, dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in self.input_ranks:
            raise ValueError(f"{self!r} expected input {self.layout}, got tensor of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r} expected input with {self.num_features} channels in dim 1, got tensor of shape "
                f"{tuple(input.shape)}"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version[0] += 1
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L), per channel C."""

    input_ranks = (2, 3)
    layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W), per channel C."""

    input_ranks = (4,)
    layout = "(N, C, H, W)"


class _InstanceNorm(_BatchNorm):
    """Shared by ``InstanceNorm1d/2d``: ``input_ranks`` is (unbatched, batched)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self.input_ranks:
            raise ValueError(f"{self!r} expected input {self.layout}, got tensor of shape {tuple(input.shape)}")
        unbatched = input.ndim == self.input_ranks[0]
        channel_dim = 0 if unbatched else 1
        if input.shape[channel_dim] != self.num_features:
            message = (f"{self!r} expected input with {self.num_features} channels in dim {channel_dim}, got tensor "
                       f"of shape {tuple(input.shape)}")
            if self.affine or self.track_running_stats:
                raise ValueError(message)
            warnings.warn(f"{message}; num_features is not used, since affine=False and track_running_stats=False",
                          stacklevel=2)
        batched = input.unsqueeze(0) if unbatched else input
        out = instance_norm(batched, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Normalise each channel of each sample of (N, C, L) or (C, L) over L; see ``F.instance_norm``.

    Defaults as PyTorch's: no ``weight``/``bias`` (``affine=False``) and no running statistics
    (``track_running_stats=False``: the input's statistics in training and evaluation alike). With
    ``track_running_stats=True``, evaluation uses the running statistics (``num_batches_tracked``
    is kept for state-dict compatibility but, as in PyTorch, not counted).

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> out = nn.InstanceNorm1d(3)(md.randn(2, 3, 10, dtype=md.float64))
    >>> bool(abs(out.mean(-1)).max() < 1e-9)
    True
    """

    input_ranks = (2, 3)
    layout = "(N, C, L) or (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Normalise each channel of each sample of (N, C, H, W) or (C, H, W) over (H, W); see ``InstanceNorm1d``.

    >>> import minidl as md
    >>> import minidl.nn as nn
    >>> nn.InstanceNorm2d(3, affine=True)(md.randn(2, 3, 8, 8)).shape
    (2, 3, 8, 8)
    """

    input_ranks = (3, 4)
    layout = "(N, C, H, W) or (C, H, W)"


class LayerNorm(Module):
    """Normalise over the trailing dims ``normalized_shape``; ``weight``/``bias`` of that shape (ones/zeros)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(creation.ones(shape, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(creation.zeros(shape, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        count = len(self.normalized_shape)
        if input.ndim < count or tuple(input.shape[input.ndim - count:]) != self.normalized_shape:
            raise ValueError(
                f"{self!r} expected input whose last {count} dims are {self.normalized_shape}, got tensor of shape "
                f"{tuple(input.shape)}"
            )
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise (N, C, *) over groups of C // num_groups channels; per-channel ``weight``/``bias``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.register_parameter("weight", Parameter(creation.ones(num_channels, device=device, dtype=dtype))
                                if affine else None)
        self.register_parameter("bias", Parameter(creation.zeros(num_channels, device=device, dtype=dtype))
                                if affine and bias else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(
                f"{self!r} expected input (N, {self.num_channels}, *), got tensor of shape {tuple(input.shape)}"
            )
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
