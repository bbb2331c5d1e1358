"""The MNIST ladder (softmax, W6 MLP, W2 CNN) runs end to end on little real data, learns, and resumes."""

import json
import os
import subprocess
import sys
import time

import pytest
from example_runner import DATA, ROOT, needs_mnist, run_example

pytestmark = needs_mnist


def _run(out, *flags):
    return run_example("mnist.py", out, *flags)


@pytest.mark.parametrize("model, accuracy", [("softmax", 0.8), ("mlp", 0.5), ("cnn", 0.5)])
def test_quick_run_writes_its_files_and_learns(tmp_path, model, accuracy):
    run = _run(tmp_path, "--model", model)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"] == model
    assert metrics["last_loss"] < metrics["first_loss"] * 0.8
    assert len(metrics["train_loss_per_epoch"]) == len(metrics["val_accuracy_per_epoch"]) == 1
    assert metrics["test_accuracy"] > accuracy
    for name in ("curves.png", "misclassified.png", "model.npz", "checkpoint.ckpt"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_a_killed_run_resumes_and_ends_where_an_uninterrupted_one_does(tmp_path):
    flags = ("--model", "softmax", "--epochs", "3")
    whole = _run(tmp_path / "whole", *flags)
    assert whole.returncode == 0, whole.stderr[-3000:]
    interrupted = tmp_path / "interrupted"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "mnist.py"), "--quick", "--data-dir", str(DATA),
         "--out", str(interrupted), *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    deadline = time.monotonic() + 240
    while not (interrupted / "checkpoint.ckpt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()   # after its first epoch's checkpoint, most likely in the second epoch
    process.wait()
    resumed = _run(interrupted, *flags, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "nothing to train" not in resumed.stdout
    expected = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    got = json.loads((interrupted / "metrics.json").read_text())
    assert got["test_accuracy"] == expected["test_accuracy"]
    assert got["val_loss_per_epoch"] == expected["val_loss_per_epoch"]


def test_resume_with_other_epochs_says_what_to_do(tmp_path):
    assert _run(tmp_path, "--model", "softmax").returncode == 0
    run = _run(tmp_path, "--model", "softmax", "--epochs", "2", "--resume")
    assert run.returncode != 0 and "resume with the --epochs" in run.stderr
