"""Graph nodes: ``Op`` (minidl's own ops) and ``Function`` (user-defined ops).

When an op runs on tensors that require grad, one node object is created. It is both the
``ctx`` that the op's ``forward`` and ``backward`` see and the ``grad_fn`` of the outputs:

    y = x.exp()          # y.grad_fn is an ``Exp`` node
    y.grad_fn.next_functions  ->  ((AccumulateGrad, 0),)   # where gradients flow next

An ``Op`` computes its forward on raw arrays (NumPy or CuPy, the same code for both) and
writes its backward with Tensor operations, so the backward is itself differentiable and
higher-order gradients need no second implementation::

    class Exp(Op):
        @staticmethod
        def forward(ctx, x):               # x: array
            y = array_module(x).exp(x)
            ctx.save_for_backward(y)        # saving an output is free: no reference cycle
            return y

        @staticmethod
        def backward(ctx, grad):           # grad: Tensor
            (y,) = ctx.saved_tensors
            return grad * y

A user's ``Function`` follows PyTorch: ``forward`` receives and returns Tensors.

What ``apply`` handles once for all ops: device checks, saving tensors with a version
snapshot (so an in-place change to a saved tensor is caught at backward time), wrapping
outputs, and errors that name the op and the input shapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module
from .grad_mode import _GradMode


class Node:
    """A vertex of the backward graph.

    next_functions: for each forward argument, ``(node, output_nr)`` of where its gradient
    goes, or ``(None, 0)`` when it needs none.
    """

    __slots__ = ()
    next_functions: tuple
    _pre_hooks: dict | None

    def name(self) -> str:
        return type(self).__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def register_prehook(self, output_nr: int, hook: Any) -> None:
        """Call ``hook(grad)`` on the gradient of output ``output_nr`` before backward runs."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(output_nr, []).append(hook)


class AccumulateGrad(Node):
    """The sink for a leaf tensor: backward adds the incoming gradient into ``variable.grad``."""

    __slots__ = ("variable", "next_functions", "__weakref__")

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.next_functions = ()

    @property
    def _pre_hooks(self) -> dict | None:
        # A leaf's hooks live on the tensor (this node is rebuilt for every graph).
        hooks = self.variable._hooks
        return {0: hooks} if hooks else None

    def name(self) -> str:
        return "AccumulateGrad"


_RELEASED = object()
_NO_EDGE = (None, 0)

# Bound by minidl/tensor.py once the Tensor class exists (the two modules need each other).
Tensor: Any = None
_wrap_array: Any = None


class _SavedInput:
    """An input saved for backward, with its version at save time."""

    __slots__ = ("tensor", "version")

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor
        self.version = tensor._version[0]


class _SavedOutput:
    """An output saved for backward. Holding the output Tensor itself would form a cycle
    (output -> grad_fn -> output), so keep its array and rebuild the Tensor on demand."""

    __slots__ = ("array", "output_nr")

    def __init__(self, array: Any, output_nr: int) -> None:
        self.array = array
        self.output_nr = output_nr


class _Constant:
    """A saved value that is neither an input nor an output: returned as a constant Tensor."""

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        self.array = array


class _FunctionBase(Node):
    """Shared graph logic of ``Op`` and ``Function``; an instance is the ctx of one call."""

    __slots__ = ("__dict__", "__weakref__")
    #: When True, output 0 shares storage with input 0 (reshape, transpose, slicing...).
    is_view = False

    # ---- ctx API (PyTorch names) -------------------------------------------------------
    def save_for_backward(self, *values: Any) -> None:
        """Keep values for backward; inputs and outputs come back as Tensors of the graph."""
        self._to_save = values

    def mark_non_differentiable(self, *outputs: Any) -> None:
        self._non_differentiable = {id(output) for output in outputs}

    @property
    def saved_tensors(self) -> tuple:
        saved = self.__dict__.get("_saved")
        if saved is _RELEASED:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to read "
                "saved tensors after they were freed). Saved values are freed by the first "
                "backward; pass retain_graph=True to backward() or autograd.grad() if you need to "
                "backward through the same graph again."
            )
        if saved is None:
            return ()
        return tuple(self._unpack(entry) for entry in saved)

    # ---- graph bookkeeping ------------------------------------------------------------
    def _unpack(self, entry: Any) -> Any:
        if isinstance(entry, _SavedInput):
            tensor, version = entry.tensor, entry.version
            if tensor._version[0] != version:
                raise RuntimeError(
                    f"{self.name()}: one of the tensors needed for gradient computation has been "
                    f"modified by an in-place operation: a tensor of shape {tuple(tensor.shape)} "
                    f"is at version {tensor._version[0]}; expected version {version}. Use the "
                    "out-of-place op (e.g. x = x + 1 instead of x += 1), or .clone() the tensor "
                    "before changing it."
                )
            return tensor
        if isinstance(entry, _SavedOutput):
            version, expected = self._output_versions[entry.output_nr]
            if version[0] != expected:
                raise RuntimeError(
                    f"{self.name()}: its output {entry.output_nr}, needed for gradient computation, "
                    f"has been modified by an in-place operation (version {version[0]}, expected "
                    f"{expected}). Use the out-of-place op, or .clone() the output first."
                )
            out = Tensor._make(entry.array)
            out.grad_fn, out._output_nr, out._version, out._requires_grad = self, entry.output_nr, version, True
            return out
        if isinstance(entry, _Constant):
            return Tensor._make(entry.array)
        return entry

    def _release(self) -> None:
        """Free what backward needed; a second backward through this node will say so."""
        if "_saved" in self.__dict__ and self._saved is not None:
            self._saved = _RELEASED

    @property
    def needs_input_grad(self) -> tuple:
        return self._needs_input_grad


class Op(_FunctionBase):
    """Base of minidl's ops: ``forward`` on arrays, ``backward`` on Tensors (see module doc)."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls.__new__(cls)
        tensors, arrays, requires = [], [], []
        for a in args:  # one pass: this runs for every op, so it is kept lean
            if isinstance(a, Tensor):
                tensors.append(a)
                arrays.append(a._data)
                requires.append(a._requires_grad)
            else:
                arrays.append(a)
                requires.append(False)
        if len(tensors) > 1:
            _check_same_device(cls, tensors)
        record = _GradMode.enabled and True in requires
        ctx._needs_input_grad = tuple(requires) if record else (False,) * len(args)
        try:
            result = cls.forward(ctx, *arrays, **kwargs)
        except (ValueError, IndexError, TypeError) as error:
            raise _op_error(cls, args, error) from error
        return _finish(ctx, cls, args, tensors, arrays, result, record)


class Function(_FunctionBase):
    """Base for user-defined differentiable functions, with PyTorch's interface::

        class Square(md.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 2 * x * grad

        y = Square.apply(x)

    ``forward`` receives Tensors and runs with graph recording off; ``backward`` returns one
    gradient per ``forward`` argument (``None`` for arguments that need none).
    """

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls.__new__(cls)
        tensors = [a for a in args if isinstance(a, Tensor)]
        _check_same_device(cls, tensors)
        record = _GradMode.enabled and any(t._requires_grad for t in tensors)
        ctx._needs_input_grad = tuple(
            isinstance(a, Tensor) and a._requires_grad and record for a in args
        )
        previous, _GradMode.enabled = _GradMode.enabled, False
        try:
            result = cls.forward(ctx, *args, **kwargs)
        finally:
            _GradMode.enabled = previous
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        if any(not isinstance(o, Tensor) for o in outputs):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors")
        to_save = ctx.__dict__.pop("_to_save", None)
        if to_save is not None:
            # Work with arrays from here on, as for an Op: inputs and outputs are matched by identity.
            lookup = {id(o): o._data for o in outputs}
            lookup.update({id(t): t._data for t in tensors})
            ctx._to_save = tuple(lookup.get(id(v), v) if isinstance(v, Tensor) else v for v in to_save)
        non_diff = ctx.__dict__.pop("_non_differentiable", None)
        if non_diff is not None:
            ctx._non_differentiable = {id(o._data) for o in outputs if id(o) in non_diff}
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        raw = tuple(o._data for o in outputs)
        return _finish(ctx, cls, args, tensors, arrays, raw[0] if single else raw, record)


def _check_same_device(cls: type, tensors: list) -> None:
    first = type(tensors[0]._data)
    for t in tensors[1:]:
        if type(t._data) is not first or (first is not np.ndarray and t.device != tensors[0].device):
            devices = ", ".join(str(t.device) for t in tensors)
            raise RuntimeError(
                f"{_op_name(cls)}: expected all tensors on the same device, got tensors on {devices}. "
                "Move them with .to(device) first."
            )


def _finish(ctx: Any, cls: type, args: tuple, tensors: list, arrays: list, result: Any, record: bool) -> Any:
    """Wrap forward's arrays as Tensors and, when recording, link them into the graph."""
    single = type(result) is not tuple
    raw = (result,) if single else result
    outputs = [_wrap_array(r) for r in raw]
    wrapped = [Tensor._make(o) for o in outputs]
    if record:
        edges, meta = [], []
        for a in args:
            if isinstance(a, Tensor):
                edges.append(a._edge() if a._requires_grad else _NO_EDGE)
                meta.append((a._data.shape, a._data.dtype))
            else:
                edges.append(_NO_EDGE)
                meta.append(None)
        ctx.next_functions, ctx._input_meta, ctx._pre_hooks = tuple(edges), tuple(meta), None
        non_diff = ctx.__dict__.get("_non_differentiable", ())
        for i, (out, array) in enumerate(zip(wrapped, outputs)):
            if array.dtype.kind in "fc" and id(array) not in non_diff:
                out.grad_fn, out._output_nr, out._requires_grad = ctx, i, True
        if len(outputs) > 1:
            ctx._output_meta = tuple((o.shape, o.dtype, array_module(o)) for o in outputs)
        to_save = ctx.__dict__.pop("_to_save", None)
        if to_save is not None:
            ctx._saved = _pack_saved(ctx, to_save, args, arrays, raw, outputs, wrapped)
        else:
            ctx._saved = None
    else:
        ctx.__dict__.pop("_to_save", None)
    if cls.is_view and isinstance(args[0], Tensor):
        base = args[0]
        out = wrapped[0]
        out._version = base._version
        if base._requires_grad and record:
            out._base = base._base if base._base is not None else base
            out._view_version = base._version[0]
    return wrapped[0] if single else tuple(wrapped)


def _pack_saved(ctx: Any, values: tuple, args: tuple, arrays: list, raw: tuple, outputs: list,
                wrapped: list) -> tuple:
    """Turn saved arrays into entries that remember which input/output they were.

    ``raw`` is what forward returned (a full reduction may return a NumPy scalar), ``outputs``
    the arrays the output tensors hold; a saved value matches either.
    """
    entries = []
    versions = None
    for value in values:
        entry = None
        if value is None or (isinstance(value, (int, float, bool, tuple, str)) and not isinstance(value, np.generic)):
            entry = value  # a plain Python value: kept as it is
        else:
            for arg, array in zip(args, arrays):
                if value is array and arg is not array:  # a Tensor input: keep it, with its version
                    entry = _SavedInput(arg)
                    break
            if entry is None:
                for i, (out, returned) in enumerate(zip(outputs, raw)):
                    if value is out or value is returned:
                        if versions is None:
                            versions = [(w._version, w._version[0]) for w in wrapped]
                        entry = _SavedOutput(out, i)
                        break
            if entry is None:
                entry = _Constant(value)
        entries.append(entry)
    if versions is not None:
        ctx._output_versions = versions
    return tuple(entries)


def _op_name(cls: type) -> str:
    return getattr(cls, "op_name", None) or cls.__name__.lower()


def _op_error(cls: type, args: tuple, error: Exception) -> Exception:
    """Re-raise a NumPy/CuPy failure inside an op as an error that names the op and its inputs."""
    shapes = ", ".join(
        str(tuple(a.shape)) for a in args if isinstance(a, Tensor)
    )
    message = str(error)
    if message.startswith(_op_name(cls) + ":"):
        return error
    kind = RuntimeError if isinstance(error, ValueError) else type(error)
    return kind(f"{_op_name(cls)}: {message} (input shapes: {shapes})")
