"""``Tensor``: an n-dimensional array on a device, with the links autograd needs.

A Tensor wraps one array (``numpy.ndarray`` on ``'cpu'``, ``cupy.ndarray`` on ``'cuda'``)
and, when it was computed from tensors that require grad, the node that computed it
(``grad_fn``). Every operation is defined once in ``minidl/ops/``; the methods here only
forward to it, so ``x.sum(1)`` and ``md.sum(x, 1)`` are the same code.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import dtypes, host_allocator  # noqa: F401 (host_allocator tunes malloc once, at import)
from .autograd import engine
from .autograd import function as function_module
from .autograd.function import AccumulateGrad
from .autograd.grad_mode import _GradMode
from .backend import Device, array_module, as_device, device_of, to_device


def _wrap_array(value: Any) -> Any:
    """Make sure a tensor's storage is an ndarray (NumPy reductions return scalars)."""
    if type(value) is np.ndarray:
        return value
    if isinstance(value, (np.generic, int, float, bool)):
        return np.asarray(value)
    return value


class Tensor:
    """A multi-dimensional array with automatic differentiation.

    Build one with ``md.tensor(data)`` or the factories (``md.zeros``, ``md.randn``...)::

        x = md.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        x.grad          # tensor([[2., 4.], [6., 8.]])
    """

    __slots__ = (
        "_data", "_requires_grad", "grad", "grad_fn", "_output_nr", "_version",
        "_base", "_view_version", "_grad_accumulator", "_hooks", "__weakref__",
    )
    # NumPy must defer to Tensor's reflected operators: np.float32(2) * t gives a Tensor.
    __array_ufunc__ = None
    __hash__ = object.__hash__

    def __init__(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> None:
        from .creation import _array_from

        self._init(_array_from(data, dtype, device))
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, array: Any) -> None:
        self._data = array
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version = [0]
        self._base = None
        self._view_version = 0
        self._grad_accumulator = None
        self._hooks = None

    @classmethod
    def _make(cls, array: Any) -> Tensor:
        """Wrap an array without copying or checking: the fast path for ops (same fields as _init)."""
        tensor = object.__new__(cls)
        tensor._data = array if type(array) is np.ndarray else _wrap_array(array)
        tensor._requires_grad = False
        tensor.grad = tensor.grad_fn = tensor._base = tensor._grad_accumulator = tensor._hooks = None
        tensor._output_nr = tensor._view_version = 0
        tensor._version = [0]
        return tensor

    # ---- basic attributes ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> Device:
        return device_of(self._data)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_cuda(self) -> bool:
        return not isinstance(self._data, np.ndarray)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    @property
    def data(self) -> Tensor:
        """A Tensor sharing this one's storage, outside the graph (changes to it are untracked)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f".data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        return self.shape[_check_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def is_floating_point(self) -> bool:
        """True when the dtype is a float type (float16, float32 or float64)."""
        return self._data.dtype.kind == "f"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def _xp(self) -> Any:
        return array_module(self._data)

    # ---- conversion -----------------------------------------------------------------------
    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item(): a tensor with {self._data.size} elements cannot be converted to a Python "
                "number; only one-element tensors can"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> Any:
        return self._host().tolist()

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied). CPU tensors without grad only."""
        if not isinstance(self._data, np.ndarray):
            raise TypeError(
                f"numpy(): this tensor is on {self.device}; NumPy arrays live on the CPU. "
                "Call .cpu().numpy() to copy it to the host first."
            )
        if self._requires_grad:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy()"
            )
        return self._data

    def _host(self) -> np.ndarray:
        return self._data if isinstance(self._data, np.ndarray) else self._data.get()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self._host()
        return array if dtype is None else array.astype(dtype, copy=False)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __repr__(self) -> str:
        body = np.array2string(
            self._host(), separator=", ", prefix="tensor(", precision=4, threshold=1000
        )
        extras = []
        default_dtype = dtypes.get_default_dtype() if self.dtype.kind == "f" else np.dtype("int64")
        if self.dtype != default_dtype and self.dtype.kind in "fiu":
            extras.append(f"dtype=minidl.{self.dtype}")
        if self.is_cuda:
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---- devices and dtypes ---------------------------------------------------------------
    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, Device)):
                device = arg
            else:
                dtype = arg
        from .ops import elementwise

        result = self
        if device is not None and as_device(device) != self.device:
            result = elementwise.ToDevice.apply(result, as_device(device))
        if dtype is not None and dtypes.as_dtype(dtype) != result.dtype:
            result = elementwise.Cast.apply(result, dtypes.as_dtype(dtype))
        if copy and result is self:
            result = self.clone()
        return result

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def float(self) -> Tensor:
        return self.to(dtypes.float32)

    def double(self) -> Tensor:
        return self.to(dtypes.float64)

    def half(self) -> Tensor:
        return self.to(dtypes.float16)

    def long(self) -> Tensor:
        return self.to(dtypes.int64)

    def int(self) -> Tensor:
        return self.to(dtypes.int32)

    def bool(self) -> Tensor:
        return self.to(dtypes.bool_)

    def type(self, dtype: Any = None) -> Any:
        return str(self.dtype) if dtype is None else self.to(dtype)

    # ---- autograd -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf so that operations on it are recorded; returns self."""
        if not self.is_leaf:
            if requires_grad:
                return self
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor: it was computed by a recorded op. "
                "Use .detach() to get a tensor outside the graph."
            )
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only tensors of floating point dtype can require gradients, got {self.dtype}; "
                "convert it first, e.g. x.float().requires_grad_()"
            )
        self._requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """The same storage, cut from the graph (shares the version counter)."""
        out = Tensor._make(self._data)
        out._version = self._version
        return out

    def detach_(self) -> Tensor:
        self.grad_fn, self._requires_grad, self._output_nr = None, False, 0
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward (leaves keep it anyway)."""
        if self.is_leaf:
            return
        me = weakref.ref(self)

        def store(grad: Tensor) -> None:
            tensor = me()
            if tensor is not None:
                tensor.grad = grad.detach() if tensor.grad is None else tensor.grad + grad.detach()

        self.grad_fn.register_prehook(self._output_nr, store)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> None:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad, so it gets no gradient")
        if self.is_leaf:
            self._hooks = (self._hooks or []) + [hook]
        else:
            self.grad_fn.register_prehook(self._output_nr, hook)

    def _edge(self) -> tuple:
        """(node, output_nr) through which this tensor's gradient flows."""
        if self.grad_fn is not None:
            if self._base is not None and self._version[0] != self._view_version:
                raise RuntimeError(
                    f"a view of shape {tuple(self.shape)} is used after its base was modified in place; "
                    "its gradient would be wrong. Take the view again after the in-place change."
                )
            return self.grad_fn, self._output_nr
        accumulator = self._grad_accumulator() if self._grad_accumulator is not None else None
        if accumulator is None:
            accumulator = AccumulateGrad(self)
            self._grad_accumulator = weakref.ref(accumulator)
        return accumulator, 0

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Sequence[Tensor] | None = None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        ``gradient`` is needed when the tensor is not a scalar (it is d(loss)/d(self)).
        """
        engine.backward([self], None if gradient is None else [gradient],
                        retain_graph, create_graph, inputs)

    # ---- in-place operations --------------------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        if not _GradMode.enabled:
            return
        if self.is_leaf and self._requires_grad:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is used in an in-place operation. "
                "Do it under `with md.no_grad():` (e.g. for a parameter update), or use the "
                "out-of-place form."
            )
        if self._base is not None:
            raise RuntimeError(
                f"{op}: in-place change of a view of a tensor that requires grad is not supported; "
                "use the out-of-place op, or .clone() the view first."
            )

    def _assign_inplace(self, result: Tensor, op: str) -> Tensor:
        """Write ``result`` (computed out of place from ``self``) into self's storage and history."""
        if result.dtype != self.dtype and not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the tensor's type {self.dtype}")
        if result.shape != self.shape:
            raise RuntimeError(
                f"{op}: the result has shape {tuple(result.shape)}, which can't be written into a tensor "
                f"of shape {tuple(self.shape)} in place"
            )
        self._data[...] = result._data
        self._version[0] += 1
        if result.grad_fn is not None:
            # The node keeps its own copy of any output it saved, so it stays valid.
            self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, True
        return self

    def _inplace(self, op: str, compute: Callable[[Tensor], Tensor], fast: Callable[[], None] | None = None) -> Tensor:
        self._check_inplace(op)
        if fast is not None and not (_GradMode.enabled and self._requires_grad):
            fast()
            self._version[0] += 1
            return self
        # Compute from a clone, as PyTorch does: a backward that needs the old value (mul_, div_)
        # must not see it overwritten by the in-place write.
        return self._assign_inplace(compute(self.clone()), op)

    def _inplace_binary(self, op: str, function: Callable, ufunc: str, other: Any) -> Tensor:
        other_requires = isinstance(other, Tensor) and other._requires_grad and _GradMode.enabled

        def fast() -> None:
            value = other._data if isinstance(other, Tensor) else other
            if isinstance(value, Tensor):
                value = value._data
            try:
                getattr(self._xp(), ufunc)(self._data, value, out=self._data, casting="same_kind")
            except (TypeError, ValueError) as error:
                raise RuntimeError(f"{op}: {error}") from error

        return self._inplace(op, lambda me: function(me, other), None if other_requires else fast)

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace_binary("add_", _ops.add, "add", other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace_binary("sub_", _ops.sub, "subtract", other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace_binary("mul_", _ops.mul, "multiply", other)

    def div_(self, other: Any) -> Tensor:
        return self._inplace_binary("div_", _ops.div, "true_divide", other)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        def fast() -> None:
            self._data[...] = value._data if isinstance(value, Tensor) else value

        def compute(me: Tensor) -> Tensor:
            return _ops.where(_ops._ones_like(me, dtype=dtypes.bool_), value, me)

        return self._inplace("fill_", compute, None if isinstance(value, Tensor) and value._requires_grad else fast)

    def copy_(self, source: Tensor) -> Tensor:
        """Copy ``source`` (broadcast to this shape, cast to this dtype) into this tensor."""
        source = source if isinstance(source, Tensor) else Tensor(source)

        def fast() -> None:
            self._data[...] = to_device(source._data, self.device)

        def compute(me: Tensor) -> Tensor:
            return (me * 0 + source.to(self.device).to(self.dtype)).expand(self.shape)

        return self._inplace("copy_", compute, None if source._requires_grad and _GradMode.enabled else fast)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        def fast() -> None:
            self._xp().clip(self._data, min, max, out=self._data)

        return self._inplace("clamp_", lambda me: me.clamp(min, max), fast)

    clip_ = clamp_

    def relu_(self) -> Tensor:
        """``max(x, 0)`` written into this tensor; returns self."""
        def fast() -> None:
            self._xp().maximum(self._data, 0, out=self._data)

        return self._inplace("relu_", _ops.relu, fast)

    def __setitem__(self, key: Any, value: Any) -> None:
        from .ops import indexing

        indexing.setitem(self, key, value)

    # ---- operators --------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _ops.remainder(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __invert__(self) -> Tensor:
        return _ops.logical_not(self) if self.dtype == dtypes.bool_ else _ops.bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        return _ops.bitwise_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return _ops.bitwise_or(self, other)

    def __xor__(self, other: Any) -> Tensor:
        return _ops.bitwise_xor(self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _ops.ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _ops.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return _ops.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _ops.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _ops.ge(self, other)

    def __getitem__(self, key: Any) -> Tensor:
        return _ops.getitem(self, key)

    # ---- methods whose argument order differs from the function form ----------------------------
    def where(self, condition: Any, other: Any) -> Tensor:
        """``x.where(condition, y)`` is ``md.where(condition, x, y)``."""
        return _ops.where(condition, self, other)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def new_zeros(self, *size: Any, dtype: Any = None) -> Tensor:
        from .creation import zeros

        return zeros(*size, dtype=dtype or self.dtype, device=self.device)

    def new_ones(self, *size: Any, dtype: Any = None) -> Tensor:
        from .creation import ones

        return ones(*size, dtype=dtype or self.dtype, device=self.device)

    def new_full(self, size: Sequence[int], fill_value: Any, dtype: Any = None) -> Tensor:
        from .creation import full

        return full(size, fill_value, dtype=dtype or self.dtype, device=self.device)

    def new_tensor(self, data: Any, dtype: Any = None) -> Tensor:
        return Tensor(data, dtype=dtype or self.dtype, device=self.device)


def is_tensor(obj: Any) -> bool:
    """True when ``obj`` is a minidl Tensor (a Parameter counts)."""
    return isinstance(obj, Tensor)


def _expect_tensor(input: Any, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(input).__name__}")
    return input


def is_floating_point(input: Tensor) -> bool:
    """True when ``input``'s dtype is a float type; ``md.is_floating_point(x)`` is ``x.is_floating_point()``."""
    return _expect_tensor(input, "is_floating_point").is_floating_point()


def numel(input: Tensor) -> int:
    """The number of elements of ``input``; ``md.numel(x)`` is ``x.numel()``."""
    return _expect_tensor(input, "numel").numel()


def _check_dim(dim: int, ndim: int, op: str) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"{op}: dimension {dim} is out of range for a tensor of {ndim} dimensions "
            f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
        )
    return dim % max(ndim, 1)


def _install_methods() -> None:
    """Expose every op that PyTorch has as a method (``x.exp()``) on Tensor."""
    for name in _ops.TENSOR_METHODS:
        if not hasattr(Tensor, name):
            setattr(Tensor, name, getattr(_ops, name))


function_module.Tensor, function_module._wrap_array = Tensor, _wrap_array

from . import ops as _ops  # noqa: E402  (ops build on Tensor, so they are imported after it)

_install_methods()
