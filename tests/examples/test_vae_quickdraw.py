"""The Quick Draw VAE example (W3) runs end to end on little real data, learns, judges its reconstructions
with a classifier it trains first, and resumes."""

import json
import shutil

import pytest
from example_runner import QUICKDRAW_CATEGORIES, needs_quickdraw, run_example

pytestmark = needs_quickdraw


def _run(out, *flags):
    return run_example("vae_quickdraw.py", out, *flags)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("vae_quickdraw")
    run = _run(out)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "training one first" in run.stdout      # no judge in a fresh --out: it trains one
    return out


def test_quick_run_writes_its_files_learns_and_is_judged(quick_run):
    metrics = json.loads((quick_run / "metrics.json").read_text())
    assert metrics["latent"] == 14 and metrics["categories"] == list(QUICKDRAW_CATEGORIES)
    assert metrics["last_loss"] < metrics["first_loss"] * 0.9
    assert metrics["val_reconstruction_per_epoch"][1] < metrics["val_reconstruction_per_epoch"][0]
    assert metrics["test_loss"] == pytest.approx(metrics["test_reconstruction"] + metrics["test_kl"])
    assert 0 <= metrics["judge_accuracy"] <= 1 and metrics["judge_accuracy_on_originals"] > 0.3
    assert len(metrics["val_judge_accuracy_per_epoch"]) == len(metrics["seconds_per_epoch"]) == 2
    assert len(metrics["latent_pca_explained_variance"]) == 2
    for figure in ("reconstructions", "samples", "latent", "curves"):
        assert (quick_run / f"{figure}.png").stat().st_size > 0
    assert not (quick_run / "manifold.png").exists()
    assert (quick_run / "judge" / "model.npz").exists() and (quick_run / "model.npz").exists()


def test_resume_continues_from_the_checkpoint(quick_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(quick_run, out)
    run = _run(out, "--resume", "--epochs", "3")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resumed from" in run.stdout and "epoch 3:" in run.stdout and "epoch 2:" not in run.stdout
    assert "training one first" not in run.stdout   # the judge trained by the first run is reused
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["train_reconstruction_per_epoch"]) == 3   # two rows came back from the checkpoint
    assert metrics["train_reconstruction_per_epoch"][2] < metrics["train_reconstruction_per_epoch"][0]


def test_two_dimensional_latent_draws_the_manifold(tmp_path):
    run = _run(tmp_path, "--latent", "2", "--epochs", "1", "--per-class", "100")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "manifold.png").stat().st_size > 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["latent"] == 2 and metrics["latent_pca_explained_variance"] is None
