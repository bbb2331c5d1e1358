"""The Quick Draw CNN example (W1) runs end to end on little real data, learns, resumes, and its saved
classifier loads back through ``load_or_train_classifier``."""

import json
import sys

import numpy as np
import pytest
from example_runner import DATA, QUICKDRAW_CATEGORIES, ROOT, needs_quickdraw, run_example

pytestmark = needs_quickdraw


def _run(out, *flags):
    return run_example("quickdraw_cnn.py", out, *flags)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickdraw_cnn")
    run = _run(out)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


def test_quick_run_writes_its_files_and_learns(quick_run):
    metrics = json.loads((quick_run / "metrics.json").read_text())
    assert metrics["recipe"] == "best" and metrics["categories"] == list(QUICKDRAW_CATEGORIES)
    assert metrics["last_loss"] < metrics["first_loss"] * 0.8
    assert metrics["test_accuracy"] > 0.3
    assert len(metrics["train_loss_per_epoch"]) == len(metrics["seconds_per_epoch"]) == 2
    assert np.sum(metrics["confusion_matrix"]) == 8 * 20       # 10 % of 200 drawings per category
    for figure in ("curves", "confusion", "confident_right", "confident_wrong"):
        assert (quick_run / f"{figure}.png").stat().st_size > 0
    assert (quick_run / "checkpoint.ckpt").exists()


def test_the_saved_classifier_loads_back_and_checks_its_categories(quick_run):
    sys.path.insert(0, str(ROOT / "examples"))
    from quickdraw_cnn import as_images, load_or_train_classifier, predict

    from minidl.datasets import QuickDraw

    model, info = load_or_train_classifier(quick_run / "model.npz", QUICKDRAW_CATEGORIES, str(DATA), per_class=200)
    test = QuickDraw(str(DATA), QUICKDRAW_CATEGORIES, 200, "test")
    accuracy = np.mean(predict(model, as_images(test)).argmax(1) == test.targets)
    assert accuracy == pytest.approx(info["test_accuracy"])
    with pytest.raises(ValueError, match="trained on categories"):
        load_or_train_classifier(quick_run / "model.npz", QUICKDRAW_CATEGORIES[:3], str(DATA), per_class=200)


def test_resume_continues_from_the_checkpoint(tmp_path):
    assert _run(tmp_path, "--recipe", "plain", "--epochs", "1").returncode == 0
    run = _run(tmp_path, "--recipe", "plain", "--epochs", "2", "--resume")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resumed from" in run.stdout and "epoch 2:" in run.stdout and "epoch 1:" not in run.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["recipe"] == "plain" and metrics["epochs_run"] == 2
    assert metrics["train_loss_per_epoch"][1] < metrics["train_loss_per_epoch"][0]
    run = _run(tmp_path, "--recipe", "plain", "--epochs", "2", "--resume")
    assert "nothing to train" in run.stdout
    assert json.loads((tmp_path / "metrics.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
