"""Random state: one seeded generator for the CPU, and CuPy's for the GPU.

``md.manual_seed(s)`` seeds both, so two runs with the same seed give bit-identical results
on the CPU. ``get_rng_state``/``set_rng_state`` capture and restore the CPU generator (what a
checkpoint needs to resume a run exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_seed: int | None = None
_generator = np.random.Generator(np.random.PCG64())


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random source minidl uses (CPU, and the GPU when CuPy is loaded)."""
    global _seed, _generator
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"manual_seed: the seed must be non-negative, got {seed}")
    _seed = seed
    _generator = np.random.Generator(np.random.PCG64(seed))
    seed_cupy()
    return _generator


seed = manual_seed


def seed_cupy() -> None:
    """Apply the current seed to CuPy's generator (called again when CuPy is first loaded)."""
    from . import backend

    if backend._cupy is not None and _seed is not None:
        backend._cupy.random.seed(_seed)


def initial_seed() -> int | None:
    return _seed


def default_rng() -> np.random.Generator:
    """The generator behind ``md.rand``, dropout, shuffling, initialisation."""
    return _generator


def generator_for(xp: Any) -> Any:
    """NumPy's generator for the CPU, CuPy's for the GPU."""
    return _generator if xp is np else xp.random


def get_rng_state() -> dict:
    """The CPU generator's state, as plain data (JSON-able: numbers and strings)."""
    state = _generator.bit_generator.state
    return {
        "bit_generator": state["bit_generator"],
        "state": str(state["state"]["state"]),
        "inc": str(state["state"]["inc"]),
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def set_rng_state(state: dict) -> None:
    """Restore a state returned by ``get_rng_state``."""
    if state.get("bit_generator") != "PCG64":
        raise ValueError(f"set_rng_state: expected a PCG64 state, got {state.get('bit_generator')!r}")
    _generator.bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int(state["state"]), "inc": int(state["inc"])},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }
