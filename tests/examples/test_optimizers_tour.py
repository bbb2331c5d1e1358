"""examples/optimizers_tour.py, run as a user would (``--quick``), into a temporary folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_optimizers_tour_quick(tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "optimizers_tour.py"), "--quick", "--out", str(tmp_path / "tour")],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figure = tmp_path / "tour" / "optimizers_tour.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 20_000
    metrics = json.loads((tmp_path / "tour" / "metrics.json").read_text())
    assert metrics["steps"] == 120
    optimizers = {"SGD", "SGD momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW"}
    assert set(metrics["surfaces"]) == {"saddle", "Rosenbrock", "Beale", "noisy quadratic"}
    for surface, result in metrics["surfaces"].items():
        assert set(result["final_loss"]) == optimizers
        for name, loss in result["final_loss"].items():
            assert result["minimum"] - 1e-6 <= loss < result["start_loss"], (surface, name, loss)
