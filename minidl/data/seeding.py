"""Where the data layer gets its randomness: minidl's global generator when the core
provides one (so ``md.manual_seed`` makes shuffles and augmentations reproducible), else
a process-wide NumPy generator."""

from __future__ import annotations

import numpy as np

_fallback = np.random.default_rng()


def global_generator() -> np.random.Generator:
    """minidl's global ``np.random.Generator`` (seeded by ``md.manual_seed``), or an
    unseeded process-wide one while ``minidl.random`` is unavailable."""
    try:
        from minidl.random import default_rng
    except ImportError:
        return _fallback
    return default_rng()


def make_generator(generator: np.random.Generator | None = None, seed: int | None = None) -> np.random.Generator:
    """``generator`` if given, else a new generator from ``seed``, else a new generator
    seeded from :func:`global_generator` (one draw).

    Example:
        >>> int(make_generator(seed=0).integers(10))
        8
    """
    if generator is not None and seed is not None:
        raise ValueError("pass either generator or seed, not both")
    if generator is not None:
        return generator
    if seed is None:
        seed = int(global_generator().integers(2**63))
    return np.random.default_rng(seed)
