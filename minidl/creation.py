"""Making tensors: ``tensor``, ``from_numpy`` and the factories (``zeros``, ``randn``, ``arange``...).

Every factory takes ``dtype=``, ``device=`` and ``requires_grad=``. Float factories use the
default dtype (float32); random ones draw from the generator that ``md.manual_seed`` seeds.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import dtypes
from . import random as _random
from .backend import Device, array_module, as_device, module_for, to_device
from .tensor import Tensor


def _array_from(data: Any, dtype: Any, device: Any) -> Any:
    """An array for ``md.tensor``: always a copy; Python floats and float64 arrays become float32."""
    if isinstance(data, Tensor):
        array = data._data.copy()
    elif isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in _flat(data)):
        array = np.array([_array_from(d, None, "cpu") if isinstance(d, (list, tuple, Tensor)) else d for d in data])
    else:
        array = array_module(data).array(data)
    if array.dtype == object:
        raise TypeError(f"tensor: can't make a tensor from {type(data).__name__} with mixed or non-numeric values")
    if dtype is None:
        if array.dtype.kind == "f" and not isinstance(data, Tensor):
            array = array.astype(dtypes.get_default_dtype(), copy=False)
        elif array.dtype.kind in "iu" and array.dtype != dtypes.int64 and not isinstance(data, (np.ndarray, Tensor)):
            array = array.astype(dtypes.int64)
    else:
        array = array.astype(dtypes.as_dtype(dtype), copy=False)
    if device is not None:
        array = to_device(array, as_device(device))
    return array


def _flat(data: Any) -> list:
    out: list = []
    for item in data:
        if isinstance(item, (list, tuple)):
            out.extend(_flat(item))
        else:
            out.append(item)
    return out


def _finish(array: Any, requires_grad: bool) -> Tensor:
    tensor = Tensor._make(array)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {size}")
    return tuple(int(s) for s in size)


def _xp(device: Any) -> Any:
    return module_for(as_device(device))


def _float_dtype(dtype: Any) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def tensor(data: Any, dtype: Any = None, device: str | Device | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor).

    >>> import minidl as md
    >>> md.tensor([[1, 2], [3, 4]]).dtype      # Python ints become int64
    dtype('int64')
    >>> md.tensor([0.5, 1.5]).dtype            # Python floats become the default float dtype
    dtype('float32')
    """
    return _finish(_array_from(data, dtype, device), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor``, but shares memory with a Tensor or ndarray when no conversion is needed."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and device is None and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor._make(data)
    return tensor(data, dtype, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array, keeping its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    if array.dtype == object:
        raise TypeError("from_numpy: object arrays can't become tensors")
    return Tensor._make(array)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(_xp(device).zeros(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(_xp(device).ones(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(_xp(device).empty(_size(size), dtype=_float_dtype(dtype)), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (its dtype follows the value when not given)."""
    if dtype is None:
        dtype = dtypes.bool_ if isinstance(fill_value, bool) else (
            dtypes.int64 if isinstance(fill_value, (int, np.integer)) else dtypes.get_default_dtype())
    return _finish(_xp(device).full(_size((size,)), fill_value, dtype=dtypes.as_dtype(dtype)), requires_grad)


def _like(input: Tensor, dtype: Any, device: Any) -> tuple[np.dtype, Any]:
    return (input.dtype if dtype is None else dtypes.as_dtype(dtype)), (input.device if device is None else device)


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return zeros(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return ones(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return empty(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return full(input.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    xp, dtype = _xp(device), _float_dtype(dtype)
    array = _random.generator_for(xp).random(_size(size), dtype=np.float64 if dtype == np.float16 else dtype)
    return _finish(array.astype(dtype, copy=False), requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    xp, dtype = _xp(device), _float_dtype(dtype)
    generator = _random.generator_for(xp)
    array = generator.standard_normal(_size(size), dtype=np.float64 if dtype == np.float16 else dtype)
    return _finish(array.astype(dtype, copy=False), requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (), dtype: Any = None,
            device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size=...)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    xp = _xp(device)
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)
    generator = _random.generator_for(xp)
    if xp is np:
        array = generator.integers(low, high, size=_size((size,)), dtype=np.int64)
    else:
        array = generator.randint(low, high, size=_size((size,)), dtype=np.int64)
    return _finish(array.astype(dtype, copy=False), requires_grad)


def rand_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randperm(n: int, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    xp = _xp(device)
    array = _random.generator_for(xp).permutation(n)
    return _finish(xp.asarray(array, dtype=dtypes.int64 if dtype is None else dtypes.as_dtype(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (excluded) by ``step``; integer when all three are."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    return _finish(_xp(device).arange(start, end, step, dtype=dtypes.as_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    return _finish(_xp(device).linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _finish(_xp(device).eye(n, m, dtype=_float_dtype(dtype)), requires_grad)
