"""Adaptive pooling of sequences: ``F.adaptive_avg_pool1d`` and ``F.adaptive_max_pool1d``.

A sequence ``(N, C, L)`` is pooled as the image ``(N, C, 1, L)`` by the 2-d ops of
``minidl/nn/functional_conv.py`` (same windows ``[floor(i*L/Lo), ceil((i+1)*L/Lo))``, same kernels).

    F.adaptive_avg_pool1d(md.randn(8, 64, 50), 1).shape    # (8, 64, 1): global average pooling
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...tensor import Tensor
from ..functional_conv import adaptive_avg_pool2d, adaptive_max_pool2d


def _output_length(input: Tensor, output_size: Any, who: Any) -> int:
    if input.ndim not in (2, 3):
        raise ValueError(f"{who} expected a 3-D input (N, C, L) or 2-D (C, L), got tensor of shape "
                         f"{tuple(input.shape)}")
    size = output_size
    if isinstance(size, (tuple, list)) and len(size) == 1:
        size = size[0]
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{who}: output_size must be a positive int, got {output_size!r}")
    return int(size)


def adaptive_avg_pool1d(input: Tensor, output_size: int) -> Tensor:
    """Mean over windows that tile ``L`` into ``output_size`` cells. ``(N, C, L)`` -> ``(N, C, output_size)``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.adaptive_avg_pool1d(md.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2)
    tensor([[[2., 4.]]])
    """
    length = _output_length(input, output_size, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, length)).squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: int, return_indices: bool = False) -> Any:
    """Max over the windows of ``adaptive_avg_pool1d``; with ``return_indices``, also the int64
    positions along ``L`` of the maxima. ``(N, C, L)`` -> ``(N, C, output_size)``.

    >>> import minidl as md
    >>> import minidl.nn.functional as F
    >>> F.adaptive_max_pool1d(md.tensor([[[1.0, 5.0, 3.0, 4.0, 2.0]]]), 2, return_indices=True)
    (tensor([[[5., 4.]]]), tensor([[[1, 3]]]))
    """
    length = _output_length(input, output_size, "adaptive_max_pool1d")
    result = adaptive_max_pool2d(input.unsqueeze(-2), (1, length), return_indices)
    if return_indices:
        values, indices = result
        return values.squeeze(-2), indices.squeeze(-2)
    return result.squeeze(-2)
