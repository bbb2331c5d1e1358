"""Keep freed host memory in the process, so NumPy's large temporaries do not page-fault every step.

A training step allocates and frees the same large arrays (im2col columns, activations, their
gradients) over and over. By default glibc's ``malloc`` gives memory back to the kernel as soon as
the top of the heap has a few MiB free (and serves big requests with ``mmap``/``munmap``), so the
next step's arrays come back as fresh pages, each one zeroed by the kernel on its first touch: a
page fault per 4 KiB. On a W1 step that was ~3,500 faults, several milliseconds (more in a VM).

``tune()`` raises the trim and mmap thresholds (glibc's ``mallopt``, the same knobs as the
``MALLOC_TRIM_THRESHOLD_``/``MALLOC_MMAP_THRESHOLD_`` environment variables), so freed blocks
stay in the heap and are reused: the resident size stays at its peak instead of shrinking and
growing again. It is applied once when minidl is imported; ``MINIDL_TUNE_MALLOC=0`` turns it off,
and it does nothing where the C library has no ``mallopt`` (macOS, musl, Windows).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 1 << 30   # never hand the heap's top back below 1 GiB of free space
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value: arrays up to 32 MiB come from the heap


def tune() -> bool:
    """Apply the thresholds; True when glibc accepted them."""
    if os.environ.get("MINIDL_TUNE_MALLOC", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


TUNED = tune()
