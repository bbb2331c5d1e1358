"""Where a minidl training step spends its time: every Op's forward and backward, timed.

``OpProfiler`` replaces, while it is active, the ``forward`` and ``backward`` of every ``Op``
subclass with a timed wrapper. Ops call ops (a convolution's backward runs a transposed
convolution for the input gradient and a weight-gradient op for the weights), so times are
*exclusive* (a call's time minus that of the calls inside it) and each call is labelled by the
outermost op it ran in: ``conv2d.backward > conv_transpose2d`` is the input gradient of a
convolution. The optimizer's ``step``/``zero_grad`` are timed the same way. What is left of the
step's wall time is the framework itself: module calls, ``Op.apply`` bookkeeping, the engine.

    with OpProfiler(optimizers) as profiler:
        for _ in range(10):
            with profiler.step():
                workload.step()
    profiler.report()      # {'categories': {...ms per step}, 'ops': {...}}
"""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from minidl.autograd.function import Op

# (outermost op, its direction, innermost op) -> category; first match wins, None matches anything.
CATEGORIES: list[tuple[tuple, str]] = [
    (("conv2d", "backward", "conv_transpose2d"), "conv backward (input)"),
    (("conv2d", "backward", "conv2d_weight_grad"), "conv backward (weights)"),
    (("conv2d", "backward", None), "conv backward (bias, other)"),
    (("conv2d", "forward", None), "conv forward"),
    (("conv_transpose2d", "backward", "conv2d"), "conv-transpose backward (input)"),
    (("conv_transpose2d", "backward", "conv2d_weight_grad"), "conv-transpose backward (weights)"),
    (("conv_transpose2d", "backward", None), "conv-transpose backward (bias, other)"),
    (("conv_transpose2d", "forward", None), "conv-transpose forward"),
    (("max_pool2d", "forward", None), "pooling forward"),
    (("max_pool2d", "backward", None), "pooling backward"),
    (("batch_norm", "forward", None), "batch norm forward"),
    (("batch_norm", "backward", None), "batch norm backward"),
    (("lstm", None, None), "recurrence (lstm/gru)"),
    (("gru", None, None), "recurrence (lstm/gru)"),
    (("linear", "forward", None), "linear forward"),
    (("linear", "backward", None), "linear backward"),
    (("matmul", "forward", None), "linear forward"),
    (("matmul", "backward", None), "linear backward"),
    (("optimizer", None, None), "optimizer"),
]
LOSS_OPS = ("cross_entropy", "log_softmax", "nll_loss", "binary_cross_entropy_with_logits", "logsumexp")


def _all_ops() -> list[type]:
    found, pending = [], [Op]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def op_label(cls: type) -> str:
    return getattr(cls, "op_name", None) or cls.__name__.lower()


def categorize(root: str, direction: str, leaf: str) -> str:
    for (want_root, want_direction, want_leaf), category in CATEGORIES:
        if want_root == root and want_direction in (None, direction) and want_leaf in (None, leaf):
            return category
    if root in LOSS_OPS or "loss" in root:
        return "loss"
    return f"elementwise, shape & other ({direction})"


class OpProfiler:
    """Times every Op's forward/backward (exclusive) and the optimizers, per step."""

    def __init__(self, optimizers: list = ()) -> None:
        self.optimizers = list(optimizers)
        self.totals: dict[tuple[str, str, str], float] = defaultdict(float)
        self.calls: dict[tuple[str, str, str], int] = defaultdict(int)
        self.step_times: list[float] = []
        self._stack: list[list] = []  # frames: [root label, direction, time spent in children]
        self._patched: list[tuple[Any, str, Any]] = []

    def _timed(self, label: str, direction: str, function: Callable) -> Callable:
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self._stack
            root, root_direction = (stack[0][0], stack[0][1]) if stack else (label, direction)
            frame = [root, root_direction, 0.0]
            stack.append(frame)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                stack.pop()
                key = (root, root_direction, label)
                self.totals[key] += elapsed - frame[2]
                self.calls[key] += 1
                if stack:
                    stack[-1][2] += elapsed
        return timed

    def __enter__(self) -> OpProfiler:
        for cls in _all_ops():
            for direction in ("forward", "backward"):
                if direction in cls.__dict__:
                    original = cls.__dict__[direction]
                    wrapped = self._timed(op_label(cls), direction, original.__func__)
                    self._patched.append((cls, direction, original))
                    setattr(cls, direction, staticmethod(wrapped))
        for optimizer in self.optimizers:
            for method in ("step", "zero_grad"):
                original = getattr(optimizer, method)
                self._patched.append((optimizer, method, None))
                setattr(optimizer, method, self._timed("optimizer", method, original))
        return self

    def __exit__(self, *exc: Any) -> None:
        for owner, name, original in reversed(self._patched):
            if original is None:
                delattr(owner, name)  # the instance attribute hid the class's method
            else:
                setattr(owner, name, original)
        self._patched.clear()

    @contextmanager
    def step(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.step_times.append(time.perf_counter() - start)

    def report(self) -> dict[str, Any]:
        """Milliseconds per step: by category, by op (``root.direction > op``), and the rest."""
        steps = max(len(self.step_times), 1)
        per_step = 1e3 / steps
        categories: dict[str, float] = defaultdict(float)
        ops: dict[str, float] = {}
        for (root, direction, leaf), seconds in self.totals.items():
            categories[categorize(root, direction, leaf)] += seconds * per_step
            name = f"{root}.{direction}" + ("" if leaf == root else f" > {leaf}")
            ops[name] = ops.get(name, 0.0) + seconds * per_step
        step_ms = sum(self.step_times) * per_step
        timed = sum(categories.values())
        categories["autograd & Python overhead"] = step_ms - timed
        order = sorted(categories.items(), key=lambda item: -item[1])
        return {
            "step_ms": step_ms,
            "categories": dict(order),
            "ops": dict(sorted(ops.items(), key=lambda item: -item[1])),
            "calls_per_step": {f"{r}.{d}" + ("" if leaf == r else f" > {leaf}"): n / steps
                               for (r, d, leaf), n in self.calls.items()},
        }
