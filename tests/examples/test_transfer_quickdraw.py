"""The transfer-learning example: a quick run learns and resumes; --weights takes a body exported from PyTorch."""

import importlib.util
import json
import sys

import numpy as np
import pytest
from example_runner import DATA, ROOT, run_example

import minidl as md
from tests.oracle import requires_torch, torch

SCRIPT = ROOT / "examples" / "transfer_quickdraw.py"

pytestmark = pytest.mark.skipif(
    not (DATA / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists() or not (DATA / "quickdraw").is_dir(),
    reason="Fashion-MNIST or Quick Draw files not present",
)


def _run(out, *flags):
    return run_example("transfer_quickdraw.py", out, *flags)


def _example():
    spec = importlib.util.spec_from_file_location("transfer_quickdraw", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_writes_its_files_learns_and_reuses_the_pretrained_body(tmp_path):
    run = _run(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["test_accuracy"]) == {"from_scratch", "frozen_body", "fine_tuned"}
    for stage in ("from_scratch", "transfer"):
        losses = metrics[stage]["train_loss"]
        assert len(losses) == 6 and losses[-1] < losses[0], (stage, losses)
    assert metrics["test_accuracy"]["from_scratch"] > 1 / 8 + 0.05   # better than chance on 8 classes
    assert metrics["unfrozen_after_epoch"] == 4
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "pretrain-fashion-mnist.ckpt").exists()

    again = _run(tmp_path, "--resume", "--no-finetune")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "pretraining skipped" in again.stdout and "pretraining on fashion-mnist:" not in again.stdout
    resumed = json.loads((tmp_path / "metrics.json").read_text())
    assert resumed["pretraining"]["test_accuracy"] == metrics["pretraining"]["test_accuracy"]
    assert set(resumed["test_accuracy"]) == {"from_scratch", "frozen_body"}
    assert resumed["test_accuracy"]["frozen_body"] == metrics["test_accuracy"]["frozen_body"]  # same body, same seed


@requires_torch
def test_weights_exported_from_pytorch_give_pytorchs_outputs(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch_twins

    torch.manual_seed(0)
    twin = torch_twins.torch_models().qd_cnn(10)
    path = tmp_path / "w1.npz"
    np.savez(path, **{key: value.numpy() for key, value in twin.state_dict().items()})   # no minidl involved
    example = _example()
    state = example.read_state_dict(path)

    x = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
    whole = md.models.qd_cnn(10)
    whole.load_state_dict(state)
    with torch.no_grad():
        expected_logits = twin(torch.tensor(x)).numpy()
        expected_features = twin[:-1](torch.tensor(x)).numpy()
    with md.no_grad():
        logits = whole(md.tensor(x)).numpy()
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-4, atol=1e-5)

    model = md.models.qd_cnn(8)   # a new 8-class head on the exported body
    head_before = model[-1].weight.detach().numpy().copy()
    example.load_body(model, state)
    with md.no_grad():
        features = model[:-1](md.tensor(x)).numpy()
    np.testing.assert_allclose(features, expected_features, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(model[-1].weight.detach().numpy(), head_before)
    trainable = example.freeze_body(model)
    assert [id(p) for p in trainable] == [id(model[-1].weight), id(model[-1].bias)]

    run = _run(tmp_path / "run", "--weights", str(path), "--no-finetune")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "no pretraining" in run.stdout and not list((tmp_path / "run").glob("pretrain*"))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["pretraining"] == {"source": str(path)}


def test_load_body_names_what_does_not_fit(tmp_path):
    example = _example()
    state = md.models.qd_cnn(10).state_dict()
    del state["3.weight"]
    with pytest.raises(ValueError, match=r"missing \['3.weight'\]"):
        example.load_body(md.models.qd_cnn(8), state)
    wrong = {**md.models.qd_cnn(10).state_dict(), "0.weight": np.zeros((16, 3, 3, 3))}   # an RGB first layer
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        example.load_body(md.models.qd_cnn(8), wrong)
