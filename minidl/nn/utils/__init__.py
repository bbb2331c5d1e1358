"""Gradient clipping and flat parameter vectors (``nn.utils``), as in PyTorch.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)   # returns the norm before clipping
    optimizer.step()
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...backend import array_module, device_of, to_device
from ...tensor import Tensor

TensorsT = Tensor | Iterable[Tensor]


def _as_list(parameters: TensorsT) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(array: object, norm_type: float) -> object:
    """The ``norm_type``-norm of all entries of ``array``, as a 0-d array of its dtype."""
    xp = array_module(array)
    flat = array.reshape(-1)
    if norm_type == 2.0:
        norm = xp.sqrt(xp.dot(flat, flat))
    elif norm_type == np.inf:
        norm = xp.max(xp.abs(flat)) if flat.size else 0.0
    elif norm_type == -np.inf:
        norm = xp.min(xp.abs(flat)) if flat.size else np.inf
    elif norm_type == 0:
        norm = xp.count_nonzero(flat)
    else:
        norm = xp.sum(xp.abs(flat) ** norm_type) ** (1.0 / norm_type)
    return xp.asarray(norm, dtype=array.dtype)


def clip_grad_norm_(
    parameters: TensorsT,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Rescale the gradients in place so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if they were one vector:
    ``total = ||(||g_1||, ..., ||g_n||)||`` with the ``norm_type``-norm (``inf`` for the max).
    Every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``. Parameters without a
    gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors (``model.parameters()``).
        max_norm: the largest norm allowed.
        norm_type: the p of the p-norm; ``float('inf')`` for the largest absolute value.
        error_if_nonfinite: raise when the total norm is nan or inf (else the gradients become nan).

    Returns:
        The total norm before clipping, a 0-d Tensor (on the gradients' device).

    Example (in a training loop: ``clip_grad_norm_(model.parameters(), 1.0)`` between backward and step):
        >>> import minidl as md
        >>> from minidl import nn
        >>> w = md.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()                       # w.grad = 2 w = [6, 8], norm 10
        >>> nn.utils.clip_grad_norm_([w], max_norm=1.0)    # the norm before clipping
        tensor(10.)
        >>> w.grad
        tensor([0.6, 0.8])
    """
    grads = [p.grad._data for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.zeros((), dtype=np.float32))
    first = grads[0]
    xp = array_module(first)
    norms = xp.stack([to_device(_vector_norm(grad, norm_type), device_of(first)) for grad in grads]).astype(first.dtype)
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {float(total)}, so they "
            "cannot be clipped; find where the loss or a gradient became nan/inf, or pass error_if_nonfinite=False"
        )
    # Multiply even when no clipping is needed (the factor is then 1): no host-device synchronisation.
    factor = xp.asarray(xp.minimum(max_norm / (total + 1e-6), 1.0), dtype=first.dtype)
    for grad in grads:
        grad *= to_device(factor, device_of(grad))
    return Tensor._make(total)


def clip_grad_value_(parameters: TensorsT, clip_value: float) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]``, in place.

    Example:
        >>> import minidl as md
        >>> from minidl import nn
        >>> w = md.tensor([3.0, -0.25], requires_grad=True)
        >>> (w * w).sum().backward()                       # w.grad = 2 w = [6, -0.5]
        >>> nn.utils.clip_grad_value_([w], clip_value=0.5)
        >>> w.grad
        tensor([ 0.5, -0.5])
    """
    clip_value = float(clip_value)
    for param in _as_list(parameters):
        if param.grad is not None:
            grad = param.grad._data
            array_module(grad).clip(grad, -clip_value, clip_value, out=grad)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (differentiable, a copy).

    Example:
        >>> from minidl import nn
        >>> nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters()).shape    # 3 * 2 weights + 2 biases
        (8,)
    """
    from ...ops import cat

    params = _as_list(parameters)
    _check_one_device(params, "parameters_to_vector")
    return cat([param.reshape(-1) for param in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Set the parameters from one flat vector (the inverse of :func:`parameters_to_vector`).

    As in PyTorch, each parameter's data becomes a view of ``vec`` (no copy).

    Args:
        vec: ``(total number of entries,)``.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}")
    params = _as_list(parameters)
    _check_one_device([vec, *params], "vector_to_parameters")
    needed = sum(param.numel() for param in params)
    if vec.ndim != 1 or vec.shape[0] != needed:
        raise ValueError(
            f"vector_to_parameters: the parameters have {needed} entries in all, so vec must have shape ({needed},); "
            f"got {tuple(vec.shape)}"
        )
    offset = 0
    for param in params:
        count = param.numel()
        param.data = Tensor._make(vec._data[offset : offset + count].reshape(param.shape))
        offset += count


def _check_one_device(tensors: list[Tensor], function: str) -> None:
    devices = {str(tensor.device) for tensor in tensors}
    if len(devices) > 1:
        raise RuntimeError(f"{function}: the tensors are on different devices ({', '.join(sorted(devices))})")

from . import rnn  # noqa: E402  (nn.utils.rnn: packed sequences)
