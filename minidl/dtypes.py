"""Data types and the type-promotion rule shared by every op.

minidl's dtypes are NumPy's (``md.float32 is np.dtype('float32')``), so arrays and tensors
speak the same language. Promotion follows PyTorch, not NumPy, where the two differ:

- an integer tensor meets a float: the result takes the float's dtype (NumPy would widen
  ``int64 + float32`` to float64);
- a Python scalar never widens a tensor: ``float32_tensor * 2.5`` stays float32, and
  ``int_tensor * 2.5`` becomes the default float dtype;
- a 0-d tensor does not widen a dimensioned tensor of the same kind.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
uint8 = np.dtype("uint8")
int16 = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
bool_ = np.dtype("bool")

_default_float = float32


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of new float tensors (float32 unless changed)."""
    global _default_float
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only float dtypes can be the default, got {dtype}")
    _default_float = dtype


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats and float64 arrays become in ``md.tensor``."""
    return _default_float


def as_dtype(dtype: Any) -> np.dtype:
    """Normalise anything NumPy accepts as a dtype (``md.float32``, ``'float32'``, ``float``)."""
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError as error:
        raise TypeError(f"not a dtype: {dtype!r}") from error


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def _category(dtype: np.dtype) -> int:
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[dtype.kind]


def promote(a: np.dtype, b: np.dtype, a_is_scalar: bool = False, b_is_scalar: bool = False) -> np.dtype:
    """The result dtype of a binary op on two tensors, by PyTorch's rules (see module doc)."""
    if a == b:
        return a
    category_a, category_b = _category(a), _category(b)
    if category_a != category_b:
        return a if category_a > category_b else b
    if a_is_scalar != b_is_scalar:
        return b if a_is_scalar else a
    return np.result_type(a, b)


def scalar_dtype(value: Any, tensor_dtype: np.dtype) -> np.dtype:
    """The dtype a Python scalar takes next to a tensor of ``tensor_dtype``."""
    if isinstance(value, (bool, np.bool_)):
        return tensor_dtype
    if isinstance(value, (builtins.int, np.integer)):
        return tensor_dtype if tensor_dtype.kind != "b" else int64
    if isinstance(value, (builtins.float, np.floating)):
        return tensor_dtype if tensor_dtype.kind == "f" else _default_float
    raise TypeError(f"unsupported scalar operand {value!r} of type {type(value).__name__}")

