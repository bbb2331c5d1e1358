"""Parts of ``minidl.nn.functional`` kept in their own files (re-exported there), and what they share."""

from __future__ import annotations

from typing import Callable

from ...tensor import Tensor


def maybe_inplace(input: Tensor, inplace: bool, name: str, compute: Callable[[Tensor], Tensor]) -> Tensor:
    """``compute(input)``, or with ``inplace`` its result written into ``input`` (returned, as
    ``name_``), with PyTorch's rules: not on a leaf that requires grad, and the gradient flows as out
    of place (``Tensor._inplace``)."""
    return input._inplace(f"{name}_", compute) if inplace else compute(input)
