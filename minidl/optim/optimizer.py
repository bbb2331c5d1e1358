"""``Optimizer``: the base of every update rule — parameter groups, per-parameter state, state dicts.

A subclass says how one parameter moves, in ``_update(param, grad, state, group)`` on raw arrays
(NumPy or CuPy, whichever the parameter lives on); the base class walks the groups, skips
parameters without a gradient, and runs every update under ``no_grad``. Updates are written
in place with ``out=`` ufuncs into the parameter and its state, and the few intermediates an
update needs go into scratch buffers that the optimizer keeps between steps, so a training
step allocates nothing here.

The state dict has PyTorch's layout: parameters are numbered in the order the groups list
them, ``{'state': {index: {'step': Tensor, 'exp_avg': Tensor, ...}},
'param_groups': [{'lr': ..., ..., 'params': [indices]}]}``. Scalar state (the step counter,
NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``) is a float32 number on the CPU, as PyTorch
keeps it while training, and stays so through a state dict round trip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad
from ..backend import array_module, device_of, to_device
from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: the tensors to optimize, or a list of dicts (parameter groups), each with
            ``'params'`` and any options that differ from ``defaults`` for that group.
        defaults: the default value of every option (``lr``, ``weight_decay``, ...).

    Example (the last layer learns with its own rate):
        >>> import minidl as md
        >>> model = md.nn.Sequential(md.nn.Linear(4, 8), md.nn.ReLU(), md.nn.Linear(8, 2))
        >>> optimizer = md.optim.SGD([
        ...     {"params": model[0].parameters()},
        ...     {"params": model[2].parameters(), "lr": 1e-3},
        ... ], lr=1e-2, momentum=0.9)
        >>> [group["lr"] for group in optimizer.param_groups]
        [0.01, 0.001]
        >>> loss = (model(md.randn(16, 4)) ** 2).mean()
        >>> optimizer.zero_grad(); loss.backward(); optimizer.step()
    """

    scalar_state: tuple[str, ...] = ("step",)  # state entries kept as float32 scalars on the CPU

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[tuple, Any] = {}
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, got a single Tensor; "
                "wrap it in a list: [tensor]"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list: pass model.parameters() or a list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for index, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {index}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params"]
        return "\n".join(lines) + "\n)"

    # ---- parameter groups -------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the rest come from ``defaults``).

        Useful to unfreeze layers while training: ``optimizer.add_param_group({'params': layer.parameters(),
        'lr': 1e-4})``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters must be in an ordered collection (a list), not a set: "
                "the order of a set changes between runs, and with it the state dict's numbering"
            )
        params = list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    f"an optimizer can only optimize Tensors, but one of the params is a {type(param).__name__}"
                )
            if not param.is_leaf:
                raise ValueError(
                    "can't optimize a non-leaf Tensor (one computed by a recorded op): "
                    "optimize the leaf it came from, or .detach().requires_grad_() a copy"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError("add_param_group: the group lists the same parameter twice")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)

    # ---- the training-step API ----------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: drop them (``set_to_none``, the default), or fill them with zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad._data[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` when one is given.

        ``closure`` re-evaluates the model and returns the loss (it runs with gradients enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is not None:
                        self._update(param._data, param.grad._data, self.state[param], group)
        return loss

    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Move one parameter in place, given its gradient, its state (filled on the first call), its group."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update(param, grad, state, group)")

    # ---- helpers for the update rules ---------------------------------------------------------
    def _buffer(self, like: Any, slot: int) -> Any:
        """A scratch array shaped like ``like`` (same dtype and device), reused from step to step.

        One flat buffer per (slot, dtype, device) is shared by all parameters, sized for the
        largest: an update may use its slots freely until it returns.
        """
        key = (slot, like.dtype, device_of(like))
        buffer = self._scratch.get(key)
        if buffer is None or buffer.size < like.size:
            buffer = array_module(like).empty(like.size, dtype=like.dtype)
            self._scratch[key] = buffer
        return buffer[: like.size].reshape(like.shape)

    def _effective_grad(self, param: Any, grad: Any, weight_decay: float, maximize: bool) -> Any:
        """The gradient the rule follows: negated when ``maximize``, plus ``weight_decay * param``.

        Returns ``grad`` itself when neither applies (never write into it), else scratch slot 0.
        """
        if not weight_decay and not maximize:
            return grad
        xp = array_module(param)
        out = self._buffer(param, 0)
        if not weight_decay:
            return xp.negative(grad, out=out)
        xp.multiply(param, float(weight_decay), out=out)
        return xp.subtract(out, grad, out=out) if maximize else xp.add(out, grad, out=out)

    def _decayed_grad(self, param: Any, grad: Any, group: dict[str, Any], decoupled: bool) -> Any:
        """``_effective_grad`` with the group's weight decay applied one of two ways: as an L2 term in
        the gradient, or ``decoupled`` (AdamW-style: the parameter first shrinks in place by
        ``1 - lr * weight_decay``, and the gradient carries no decay)."""
        weight_decay = float(group["weight_decay"])
        if decoupled:
            if weight_decay:
                param *= 1 - float(group["lr"]) * weight_decay
            weight_decay = 0.0
        return self._effective_grad(param, grad, weight_decay, group["maximize"])

    @staticmethod
    def _new_step() -> Tensor:
        """The step counter, a float32 scalar on the CPU as in PyTorch's state."""
        return Optimizer._new_scalar(0.0)

    @staticmethod
    def _new_scalar(value: float) -> Tensor:
        """A float32 scalar state entry on the CPU (list its name in ``scalar_state``)."""
        return Tensor._make(np.array(value, dtype=np.float32))

    @staticmethod
    def _advance(state: dict[str, Any]) -> float:
        """Count one more step; returns the new count."""
        counter = state["step"]._data
        counter += 1
        return float(counter)

    @staticmethod
    def _state_like(param: Any, fill: float = 0.0) -> Tensor:
        """A state tensor shaped like the parameter, filled with ``fill``."""
        return Tensor._make(array_module(param).full(param.shape, fill, dtype=param.dtype))

    # ---- state dicts ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state and options, with parameters replaced by their index.

        The state's tensors are the optimizer's own (not copies): save the dict (``md.save``)
        before the next step, or copy it.
        """
        indices: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for param in group["params"]:
                indices.setdefault(id(param), len(indices))
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = [indices[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            indices[id(param)]: param_state
            for param, param_state in self.state.items()
            if param_state and id(param) in indices  # plain SGD keeps no state
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by :meth:`state_dict` (from an optimizer over the same
        parameters, in the same order). State tensors are copied, cast to their parameter's dtype
        and moved to its device; the step counters stay float32 on the CPU.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for index, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: parameter group {index} has {len(saved['params'])} "
                    f"parameters in the state dict but {len(group['params'])} in the optimizer"
                )
        by_index = {
            int(saved_index): param
            for saved, group in zip(saved_groups, self.param_groups)
            for saved_index, param in zip(saved["params"], group["params"])
        }
        self.state = defaultdict(dict)
        for key, param_state in state_dict["state"].items():
            param = by_index.get(int(key))
            if param is None:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: the state dict has state for parameter {key}, "
                    "which none of its parameter groups lists"
                )
            self.state[param] = {
                name: _restore_value(value, param, scalar=name in self.scalar_state)
                for name, value in param_state.items()
            }
        self.param_groups = [
            dict({key: value for key, value in saved.items() if key != "params"}, params=group["params"])
            for saved, group in zip(saved_groups, self.param_groups)
        ]


def check_non_negative(optimizer: str, **options: float) -> None:
    """Raise a clear error for a negative learning rate, epsilon, decay... (``check_non_negative('SGD', lr=lr)``)."""
    for name, value in options.items():
        if not value >= 0:
            raise ValueError(f"{optimizer}: invalid {name} {value!r}: expected a value >= 0")


def check_betas(optimizer: str, betas: tuple[float, float]) -> None:
    """Raise a clear error unless both betas are in [0, 1) (Adam and its variants)."""
    for index, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"{optimizer}: invalid beta at index {index}: {beta!r}: expected 0 <= beta < 1")


def _restore_value(value: Any, param: Tensor, scalar: bool) -> Any:
    """A copy of one saved state entry, placed as the parameter's state must be."""
    if scalar:
        return Optimizer._new_scalar(float(value.item() if isinstance(value, Tensor) else value))
    if not isinstance(value, Tensor):
        return value
    array = to_device(value._data, param.device)
    return Tensor._make(array.astype(param.dtype, copy=True))
