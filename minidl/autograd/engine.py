"""The backward engine: ``Tensor.backward`` and ``autograd.grad`` both end up here.

The graph is walked iteratively (no recursion, so a chain of any length works):

1. collect every node reachable from the roots, counting for each how many edges lead in;
2. start from the roots and run a node's backward only once all of its consumers have sent
   their gradient (the count drops to zero): that is a topological order;
3. each gradient is reduced to the shape and dtype of the tensor it belongs to (the one
   place where broadcasting is undone), then summed into the consumer's buffer;
4. a node's saved tensors are freed right after its backward, unless ``retain_graph``.
"""

from __future__ import annotations

from typing import Any, Sequence

from . import function
from .function import AccumulateGrad, Node
from .grad_mode import _GradMode


def backward(
    tensors: Sequence[Any],
    grad_tensors: Sequence[Any] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Any] | None = None,
) -> None:
    """Accumulate d(tensors)/d(leaf) into the ``.grad`` of every leaf that requires grad."""
    roots, grads = _roots(tensors, grad_tensors, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    only = None
    if inputs is not None:
        only = {id(_edge_of(t, "backward")[0]) for t in inputs}
    _run(roots, grads, retain, create_graph, capture=None, accumulate_only=only)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Return d(outputs)/d(inputs) without touching any ``.grad``.

    With ``create_graph=True`` the returned gradients are themselves part of a graph, so they
    can be differentiated again (higher-order gradients)::

        x = md.tensor(2.0, requires_grad=True)
        (dy,) = md.autograd.grad(x ** 3, x, create_graph=True)   # 3x^2 = 12
        (d2y,) = md.autograd.grad(dy, x)                          # 6x = 12
    """
    from ..tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single_input = isinstance(inputs, Tensor)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    roots, grads = _roots(outputs, grad_outputs, "autograd.grad")
    capture: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd.grad: inputs must be Tensors, got {type(t).__name__} at position {i}")
        if not t._requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad; call .requires_grad_() on it first")
        node, nr = _edge_of(t, "autograd.grad")
        capture.setdefault((id(node), nr), []).append(i)
    retain = create_graph if retain_graph is None else retain_graph
    results = _run(roots, grads, retain, create_graph, capture=capture, accumulate_only=None)
    out = []
    for i, t in enumerate(inputs):
        g = results.get(i)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it."
            )
        out.append(g)
    return tuple(out)


def _edge_of(tensor: Any, caller: str) -> tuple[Node, int]:
    if not tensor._requires_grad:
        raise RuntimeError(
            f"{caller}: a tensor does not require grad and has no grad_fn. Create it with "
            "requires_grad=True (or call .requires_grad_()), and don't compute it under no_grad()."
        )
    return tensor._edge()


def _roots(tensors: Sequence[Any], grad_tensors: Sequence[Any] | None, caller: str) -> tuple[list, list]:
    from ..tensor import Tensor

    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"{caller}: got {len(tensors)} tensors but {len(grad_tensors)} gradients")
    roots, grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        edge = _edge_of(t, caller)
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for a scalar output, but output {i} "
                    f"has shape {tuple(t.shape)}. Reduce it first (e.g. loss.sum() or loss.mean()), or "
                    "pass a gradient of the same shape: backward(gradient=...)."
                )
            g = Tensor._make(t._xp().ones(t._data.shape, dtype=t._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor._make(t._xp().asarray(g, dtype=t._data.dtype))
            if g.shape != t.shape:
                raise RuntimeError(
                    f"{caller}: the gradient for output {i} has shape {tuple(g.shape)}, "
                    f"but the output has shape {tuple(t.shape)}"
                )
        roots.append(edge)
        grads.append(g)
    return roots, grads


def _collect(roots: list) -> tuple[dict[int, int], dict[int, Node]]:
    """Count, for every reachable node, the edges that lead into it."""
    dependencies: dict[int, int] = {}
    nodes: dict[int, Node] = {}
    stack = [node for node, _ in roots]
    for node in stack:
        nodes[id(node)] = node
    while stack:
        node = stack.pop()
        for child, _ in node.next_functions:
            if child is None:
                continue
            key = id(child)
            if key in dependencies:
                dependencies[key] += 1
            else:
                dependencies[key] = 1
                if key not in nodes:
                    nodes[key] = child
                    stack.append(child)
    return dependencies, nodes


def _needed(nodes: dict[int, Node], targets: set[int]) -> set[int]:
    """Nodes from which some target is reachable: the only ones autograd.grad must run."""
    needed: set[int] = set()
    # Iterative post-order: a node is needed if it is a target or any child is needed.
    state: dict[int, int] = {}
    for start in nodes.values():
        if id(start) in state:
            continue
        stack = [(start, iter(start.next_functions))]
        state[id(start)] = 0
        while stack:
            node, children = stack[-1]
            advanced = False
            for child, _ in children:
                if child is not None and id(child) not in state:
                    state[id(child)] = 0
                    stack.append((child, iter(child.next_functions)))
                    advanced = True
                    break
            if advanced:
                continue
            stack.pop()
            key = id(node)
            if key in targets or any(c is not None and id(c) in needed for c, _ in node.next_functions):
                needed.add(key)
    return needed


def _run(
    roots: list,
    root_grads: list,
    retain_graph: bool,
    create_graph: bool,
    capture: dict[tuple[int, int], list[int]] | None,
    accumulate_only: set[int] | None,
) -> dict[int, Any]:
    dependencies, nodes = _collect(roots)
    needed = None
    if capture is not None:
        needed = _needed(nodes, {key for key, _ in capture})
    elif accumulate_only is not None:
        needed = _needed(nodes, accumulate_only)

    buffers: dict[int, list] = {}
    for (node, nr), g in zip(roots, root_grads):
        _add_to_buffer(buffers, node, nr, g)
    ready, seen_ready = [], set()
    for node, _ in roots:
        if dependencies.get(id(node), 0) == 0 and id(node) not in seen_ready:
            seen_ready.add(id(node))
            ready.append(node)
    results: dict[int, Any] = {}
    # Storage already given to some .grad (or owned by the caller): never hand it out twice.
    handed_out = {id(_storage_root(g._data)) for g in root_grads}

    previous_mode = _GradMode.enabled
    _GradMode.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            key = id(node)
            grads = buffers.pop(key, None)
            if grads is not None and node._pre_hooks:
                grads = _apply_hooks(node, grads)
            if capture is not None and grads is not None:
                for nr, g in enumerate(grads):
                    for index in capture.get((key, nr), ()):
                        results[index] = g
            run_it = grads is not None and (needed is None or key in needed)
            if isinstance(node, AccumulateGrad):
                if run_it and capture is None and (accumulate_only is None or key in accumulate_only):
                    _accumulate(node.variable, grads[0], create_graph, handed_out)
                continue
            input_grads = None
            if run_it:
                input_grads = _call_backward(node, grads)
                if not retain_graph:
                    node._release()
            for i, (child, nr) in enumerate(node.next_functions):
                if child is None:
                    continue
                child_key = id(child)
                if input_grads is not None:
                    g = input_grads[i]
                    if g is not None:
                        g = _fit(g, node._input_meta[i], node, i)
                        _add_to_buffer(buffers, child, nr, g)
                dependencies[child_key] -= 1
                if dependencies[child_key] == 0 and child_key not in seen_ready:
                    seen_ready.add(child_key)
                    ready.append(child)
    finally:
        _GradMode.enabled = previous_mode
    return results


def _call_backward(node: Any, grads: list) -> tuple:
    Tensor = function.Tensor
    if len(grads) > 1 or node.__dict__.get("_output_meta") is not None:
        # Outputs that received no gradient get zeros, so every backward sees full inputs.
        grads = [
            g if g is not None else Tensor._make(xp.zeros(shape, dtype=dtype))
            for g, (shape, dtype, xp) in zip(grads, node._output_meta)
        ]
    result = type(node).backward(node, *grads)
    if not isinstance(result, tuple):
        result = (result,)
    expected = len(node.next_functions)
    if len(result) < expected:
        result = result + (None,) * (expected - len(result))
    elif len(result) > expected:
        raise RuntimeError(
            f"{node.name()}: backward returned {len(result)} gradients, but forward took {expected} arguments"
        )
    return tuple(
        Tensor._make(g) if g is not None and not isinstance(g, Tensor) else g for g in result
    )


def _fit(g: Any, meta: tuple, node: Any, index: int) -> Any:
    """Reduce a gradient to the shape and dtype of the input it belongs to (unbroadcasting)."""
    shape, dtype = meta
    if g.shape != shape:
        try:
            g = g.sum_to(shape)
        except RuntimeError as error:
            raise RuntimeError(
                f"{node.name()}: backward produced a gradient of shape {tuple(g.shape)} for input "
                f"{index} of shape {tuple(shape)}"
            ) from error
    if g.dtype != dtype:
        g = g.to(dtype)
    return g


def _add_to_buffer(buffers: dict, node: Node, output_nr: int, g: Any) -> None:
    slots = buffers.get(id(node))
    if slots is None:
        count = len(node._output_meta) if getattr(node, "_output_meta", None) else 1
        if isinstance(node, AccumulateGrad):
            count = 1
        slots = buffers[id(node)] = [None] * max(count, output_nr + 1)
    current = slots[output_nr]
    slots[output_nr] = g if current is None else current + g


def _apply_hooks(node: Any, grads: list) -> list:
    grads = list(grads)
    for nr, hooks in node._pre_hooks.items():
        if nr < len(grads) and grads[nr] is not None:
            for hook in hooks:
                replaced = hook(grads[nr])
                if replaced is not None:
                    grads[nr] = replaced
    return grads


def _storage_root(array: Any) -> Any:
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def _accumulate(variable: Any, g: Any, create_graph: bool, handed_out: set[int]) -> None:
    """``variable.grad += g``, making sure no two ``.grad`` ever share memory."""
    Tensor = function.Tensor
    if variable.grad is None:
        array = g._data
        root = id(_storage_root(array))
        writable = getattr(getattr(array, "flags", None), "writeable", True) and 0 not in array.strides
        if root in handed_out or not writable or not create_graph and g._requires_grad:
            array = array.copy()
            root = id(array)
        handed_out.add(root)
        variable.grad = g if create_graph and array is g._data else Tensor._make(array)
    elif create_graph:
        variable.grad = variable.grad + g
    else:
        variable.grad._data += g._data
