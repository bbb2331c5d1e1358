"""Switching graph recording on and off: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each is a context manager and a decorator, as in PyTorch::

    with md.no_grad():
        y = model(x)          # nothing recorded, no memory kept for backward

    @md.no_grad()
    def evaluate(model): ...
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad record the graph."""
    return _GradMode.enabled


class _GradModeContext:
    """Base: a context manager that sets grad mode and restores it on exit; also a decorator."""

    _mode: bool

    def __enter__(self) -> None:
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._mode

    def __exit__(self, *exc_info: Any) -> None:
        _GradMode.enabled = self._previous

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__._fresh(self):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _fresh(self) -> _GradModeContext:
        # A decorated function may be re-entered (recursion): each call needs its own saved state.
        return self.__class__()


class no_grad(_GradModeContext):
    """Disable graph recording inside the block or decorated function."""

    _mode = False


class enable_grad(_GradModeContext):
    """Enable graph recording inside the block, even within ``no_grad``."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(flag)`` sets grad mode at once; used with ``with`` it restores it after."""

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._previous = _GradMode.enabled
        _GradMode.enabled = self._mode

    def __enter__(self) -> None:
        pass

    def _fresh(self) -> _GradModeContext:
        return set_grad_enabled(self._mode)
