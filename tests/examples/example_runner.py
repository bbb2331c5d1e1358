"""What the example tests share: where the data is, and running an example as a user would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MINIDL_DATA", ROOT.parent / "shared" / "data"))
QUICKDRAW_CATEGORIES = ("apple", "bicycle", "cat", "diamond", "eye", "eyeglasses", "fish", "penguin")

needs_mnist = pytest.mark.skipif(not (DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(),
                                 reason="MNIST files not present")
needs_quickdraw = pytest.mark.skipif(
    not all((DATA / "quickdraw" / f"{name}.npy").exists() for name in QUICKDRAW_CATEGORIES),
    reason="Quick Draw files not present",
)


def run_example(script: str, out: Path, *flags: str, quick: bool = True) -> subprocess.CompletedProcess:
    """``python examples/<script> [--quick] --data-dir DATA --out OUT *flags`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(ROOT / "examples" / script), *(["--quick"] if quick else []),
               "--data-dir", str(DATA), "--out", str(out), *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
