"""The core-only MNIST example runs end to end on real data and learns."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MINIDL_DATA", ROOT.parent / "shared" / "data"))


@pytest.mark.skipif(not (DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists(), reason="MNIST files not present")
def test_quick_run_writes_metrics_and_learns(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mnist_from_scratch.py"), "--quick",
         "--data-dir", str(DATA), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["last_loss"] < metrics["first_loss"] * 0.7
    assert metrics["test_accuracy"] > 0.6
