"""The DCGAN example (W4): its judge's two numbers on inputs with known answers, and a short real run that
writes its files, learns and resumes."""

import json
import sys

import numpy as np
import pytest
from example_runner import ROOT, needs_mnist, run_example

sys.path.insert(0, str(ROOT / "examples"))

from gan_mnist import classifier_score, frechet_distance, r1_penalty  # noqa: E402

import minidl as md  # noqa: E402


def test_classifier_score_of_confident_balanced_predictions_is_the_number_of_classes():
    for classes in (2, 7, 10):
        one_hot = np.eye(classes)[np.arange(100 * classes) % classes]
        assert classifier_score(one_hot) == pytest.approx(classes)


def test_classifier_score_is_one_when_every_prediction_is_the_same():
    rng = np.random.default_rng(0)
    row = rng.dirichlet(np.ones(10))
    assert classifier_score(np.tile(row, (500, 1))) == pytest.approx(1.0)
    assert classifier_score(np.eye(10)[np.zeros(500, dtype=int)]) == pytest.approx(1.0)   # one class only


def test_classifier_score_matches_its_definition():
    probabilities = np.random.default_rng(1).dirichlet(np.full(10, 0.3), size=400)
    marginal = probabilities.mean(0)
    kl = np.array([np.sum(p * np.log(p / marginal)) for p in probabilities])
    assert classifier_score(probabilities) == pytest.approx(np.exp(kl.mean()), rel=1e-10)


def test_frechet_distance_of_a_sample_with_itself_is_zero():
    features = np.random.default_rng(2).normal(size=(3000, 20)) @ np.random.default_rng(3).normal(size=(20, 20))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6 * np.trace(np.cov(features.T)))


def test_frechet_distance_of_shifted_equal_covariances_is_the_squared_mean_gap():
    features = np.random.default_rng(4).normal(size=(2000, 8)) * np.arange(1, 9)
    shift = np.linspace(-1, 2, 8)
    assert frechet_distance(features, features + shift) == pytest.approx(np.sum(shift ** 2), rel=1e-8)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    # N(0, diag(a)) vs N(0, diag(b)): sum over dimensions of (sqrt(a) - sqrt(b))^2, here from exact covariances
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0.5, 3, 6), rng.uniform(0.5, 3, 6)
    white = rng.normal(size=(4000, 6))
    white = (white - white.mean(0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(white.T)).T)   # exactly identity cov
    rotation = np.linalg.qr(rng.normal(size=(6, 6)))[0]   # rotate both: the distance does not change
    x, y = (white * np.sqrt(a)) @ rotation, (white * np.sqrt(b)) @ rotation
    assert frechet_distance(x, y) == pytest.approx(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rel=1e-8)


def test_frechet_distance_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(N_a, D\) and \(N_b, D\)"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    # D(x) = w . x + b has grad_x D = w at every x: the penalty is |w|^2, and its gradient in w is 2w
    w = md.tensor(np.arange(1.0, 5.0).reshape(1, 1, 2, 2), dtype=md.float64, requires_grad=True)
    x = md.randn(3, 1, 2, 2, dtype=md.float64, requires_grad=True)
    penalty = r1_penalty((x * w).sum((1, 2, 3)) + 0.5, x)
    assert penalty.item() == pytest.approx(30.0)
    penalty.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * w.detach().numpy())


def test_r1_penalty_of_a_quadratic_discriminator_by_hand():
    # D(x) = sum x^2 / 2 has grad_x D = x: the penalty is the mean over the batch of |x_i|^2
    x = md.tensor(np.random.default_rng(0).standard_normal((4, 1, 3, 3)), requires_grad=True)
    penalty = r1_penalty((x * x).sum((1, 2, 3)) / 2, x)
    assert penalty.item() == pytest.approx(float((x.detach().numpy() ** 2).sum() / 4), rel=1e-6)


def _run(out, *flags):
    return run_example("gan_mnist.py", out, *flags)


@needs_mnist
def test_quick_run_writes_its_files_learns_and_resumes(tmp_path):
    options = ("--ema", "0.9", "--lr-decay")   # the defaults' R1 penalty plus the optional averaging and decay
    run = _run(tmp_path, *options)   # also trains a --quick judge CNN into tmp_path/judge
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 10 and metrics["epochs"] == 1
    assert metrics["last_d_loss"] < metrics["first_d_loss"]   # D learns to tell the untrained G's images apart
    assert 1 <= metrics["classifier_score"] <= 10 and metrics["fid"] > 0
    assert 1 <= metrics["classifier_score_real_test_digits"] <= 10
    assert 1 <= metrics["classifier_score_without_ema"] <= 10   # with --ema the samples come from the average
    for name in ("samples_epoch_01.png", "samples.png", "losses.png", "checkpoint.ckpt", "judge/model.npz"):
        assert (tmp_path / name).stat().st_size > 0, name

    run = _run(tmp_path, "--resume", "--epochs", "2", *options)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resumed from" in run.stdout and "epoch 2:" in run.stdout and "epoch 1:" not in run.stdout
    assert "training the MNIST CNN" not in run.stdout   # the judge is loaded, not trained again
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 20 and len(metrics["d_loss_per_epoch"]) == 2
    assert (tmp_path / "samples_epoch_02.png").stat().st_size > 0
