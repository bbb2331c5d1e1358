"""Array backends and devices.

Every op in minidl is written once against an *array module* ``xp``: NumPy for
``'cpu'`` tensors, CuPy for ``'cuda'`` tensors. ``array_module(array)`` returns the
right one, so ``xp.exp(x)`` runs on whichever device ``x`` lives on.

CuPy is imported only when a GPU tensor is first asked for; a machine without it
still imports minidl, and ``minidl.cuda.is_available()`` is then False.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

_GPU_INSTALL_HINT = (
    "install the GPU extra (pip install 'minidl[gpu]', which brings cupy-cuda12x) "
    "on a machine with an NVIDIA GPU"
)

_cupy: types.ModuleType | None = None
_cupy_import_error: str | None = None


def _load_cupy() -> types.ModuleType | None:
    """Import CuPy once; remember why it failed so errors can say so."""
    global _cupy, _cupy_import_error
    if _cupy is None and _cupy_import_error is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
            from . import random as _random

            _random.seed_cupy()
        except Exception as error:  # ImportError, or a CUDA runtime error without a GPU
            _cupy_import_error = f"{type(error).__name__}: {error}"
    return _cupy


def cupy_module() -> types.ModuleType:
    """The CuPy module, or a clear error saying how to get a working one."""
    cupy = _load_cupy()
    if cupy is None:
        raise RuntimeError(
            f"CUDA tensors need CuPy and a GPU, which are not available here "
            f"({_cupy_import_error}); {_GPU_INSTALL_HINT}, or keep the tensor on 'cpu'."
        )
    return cupy


class Device:
    """Where a tensor's storage lives: ``Device('cpu')``, ``Device('cuda')``, ``Device('cuda:1')``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | Device, index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, number = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
        if number:
            if not number.isdigit():
                raise ValueError(f"bad device index in {spec!r}: expected 'cuda:N' with N >= 0")
            index = int(number)
        if kind == "cpu":
            if index not in (None, 0):
                raise ValueError(f"the CPU has no device index, got {spec!r}")
            index = None
        else:
            index = 0 if index is None else index
        self.type, self.index = kind, index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"


CPU = Device("cpu")


def as_device(device: str | Device | None) -> Device:
    """Normalise a device argument; ``None`` means the CPU."""
    if device is None:
        return CPU
    if isinstance(device, Device):
        return device
    return Device(device)


def array_module(array: Any) -> types.ModuleType:
    """``numpy`` for host arrays, ``cupy`` for device arrays."""
    if isinstance(array, (np.ndarray, np.generic)):
        return np
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def module_for(device: Device) -> types.ModuleType:
    """The array module that allocates on ``device``."""
    if device.type == "cpu":
        return np
    cupy = cupy_module()
    cupy.cuda.Device(device.index).use()
    return cupy


def device_of(array: Any) -> Device:
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    return Device("cuda", array.device.id)


def to_device(array: Any, device: Device) -> Any:
    """Copy ``array`` to ``device`` (no copy when it is already there)."""
    if device.type == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    cupy = cupy_module()
    with cupy.cuda.Device(device.index):
        return cupy.asarray(array)


class _CudaNamespace:
    """``minidl.cuda``: what PyTorch users call to ask about GPUs."""

    @staticmethod
    def is_available() -> bool:
        return _load_cupy() is not None

    @staticmethod
    def device_count() -> int:
        cupy = _load_cupy()
        return 0 if cupy is None else int(cupy.cuda.runtime.getDeviceCount())

    @staticmethod
    def synchronize() -> None:
        cupy_module().cuda.Device().synchronize()

    @staticmethod
    def manual_seed(seed: int) -> None:
        from . import random as _random

        _random.manual_seed(seed)


cuda = _CudaNamespace()
