"""``Parameter``: a Tensor that a ``Module`` registers as a learnable weight.

Assigning a Parameter to a module attribute (``self.weight = Parameter(...)``) makes it show up in
``module.parameters()`` and in the state dict under the attribute's name::

    weight = nn.Parameter(md.randn(3, 4))
    weight.requires_grad        # True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and shares storage with ``data``.

    data: a Tensor (its storage is shared, not copied) or an array-like (converted as ``md.tensor``).
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = np.empty((0,), dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            from ..creation import _array_from

            array = _array_from(data, None, None)
        self._init(array)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        """``copy.deepcopy`` (of a module, say) gives a Parameter with its own copy of the data."""
        copied = Parameter(Tensor._make(self._data.copy()), self._requires_grad)
        if self.grad is not None:
            copied.grad = Tensor._make(self.grad._data.copy())
        memo[id(self)] = copied
        return copied
