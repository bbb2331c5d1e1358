"""The row-by-row MNIST example (W5) runs end to end on little real data, learns, and resumes."""

import json

import pytest
from example_runner import needs_mnist, run_example

pytestmark = needs_mnist


def _run(out, *flags):
    return run_example("rnn_sequences.py", out, *flags)


@pytest.mark.parametrize("flags", [("--cell", "lstm"), ("--cell", "gru", "--tbptt", "7")], ids=["lstm", "gru-tbptt"])
def test_quick_run_writes_its_files_and_learns(tmp_path, flags):
    run = _run(tmp_path, *flags)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["cell"] == flags[1]
    assert metrics["last_loss"] < metrics["first_loss"] * 0.8
    assert len(metrics["train_loss_per_epoch"]) == len(metrics["seconds_per_epoch"]) == 1
    assert metrics["test_accuracy"] > 0.3
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert (tmp_path / "checkpoint.ckpt").exists()


def test_resume_continues_from_the_checkpoint(tmp_path):
    assert _run(tmp_path).returncode == 0
    run = _run(tmp_path, "--resume", "--epochs", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resumed from" in run.stdout and "epoch 2:" in run.stdout and "epoch 1:" not in run.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["train_loss_per_epoch"]) == 2   # the first epoch's row came back from the checkpoint
    assert metrics["train_loss_per_epoch"][1] < metrics["train_loss_per_epoch"][0]
    run = _run(tmp_path, "--resume", "--epochs", "2")
    assert "nothing to train" in run.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
