"""The training toolkit: progress bars, History, RunningMean/accuracy, EarlyStopping, curves."""

import io
import json

import numpy as np
import pytest

import minidl as md
from minidl import nn
from minidl.training import (
    EarlyStopping,
    History,
    PlainProgress,
    RunningMean,
    accuracy,
    correct,
    progress,
    progress_bar,
)
from minidl.training.plots import metric_panels


# ---- progress -------------------------------------------------------------------------------------------
def test_progress_uses_tqdm_when_installed():
    tqdm = pytest.importorskip("tqdm")
    bar = progress(range(5), desc="epoch 1", disable=True)
    assert isinstance(bar, tqdm.tqdm)
    assert list(bar) == [0, 1, 2, 3, 4]


def test_progress_falls_back_to_plain_lines_without_tqdm(monkeypatch, capsys):
    monkeypatch.setattr(progress_bar, "_tqdm", None)
    bar = progress(range(4), desc="epoch 2", unit="batch")
    assert isinstance(bar, PlainProgress)
    seen = []
    for item in bar:
        seen.append(item)
        bar.set_postfix(loss=0.123456)
    assert seen == [0, 1, 2, 3]
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("epoch 2: 4/4 batch [00:00, ") and "batch/s]" in line and line.endswith("loss=0.1235")


def test_plain_progress_prints_periodically_and_once_at_the_end():
    out = io.StringIO()
    bar = PlainProgress(range(3), desc="eval", interval=0.0, file=out)
    assert len(bar) == 3
    list(bar)
    bar.close()  # closing twice prints once
    lines = out.getvalue().splitlines()
    assert [line.split(" ")[1] for line in lines] == ["1/3", "2/3", "3/3", "3/3"]
    silent = io.StringIO()
    list(PlainProgress(iter([1, 2]), file=silent, disable=True))
    assert silent.getvalue() == ""


# ---- History and metrics ------------------------------------------------------------------------------
def test_history_columns_steps_best_and_summary(tmp_path):
    history = History()
    history.log(epoch=1, train_loss=0.9, val_accuracy=0.5)
    history.log(epoch=2, train_loss=md.tensor(0.5))
    history.log(epoch=3, train_loss=0.7, val_accuracy=0.8)
    assert history["train_loss"] == [0.9, 0.5, pytest.approx(0.7)]
    assert history["val_accuracy"] == [0.5, 0.8] and history.steps("val_accuracy") == [1, 3]
    assert history.best("train_loss") == (2, 0.5)
    assert history.best("val_accuracy", mode="max") == (3, 0.8)
    assert history.keys() == ["epoch", "train_loss", "val_accuracy"] and len(history) == 3
    assert history.summary() == "epoch 3: train_loss 0.7  val_accuracy 0.8"
    with pytest.raises(KeyError, match="no metric 'val_loss'"):
        history["val_loss"]
    restored = History()
    restored.load_state_dict(history.state_dict())
    assert restored.rows == history.rows
    assert json.loads(history.save_json(tmp_path / "h" / "history.json").read_text()) == history.rows


def test_running_mean_and_accuracy():
    mean = RunningMean()
    assert np.isnan(mean.mean)
    mean.update(1.0, n=3)
    mean.update(md.tensor(3.0), n=1)
    assert mean.mean == pytest.approx(1.5)
    logits = md.tensor([[0.1, 2.0], [3.0, 0.0], [0.0, 1.0]])
    targets = md.tensor([1, 1, 1])
    assert correct(logits, targets) == 2 and accuracy(logits, targets) == pytest.approx(2 / 3)


# ---- EarlyStopping ------------------------------------------------------------------------------------
class TinyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(md.zeros(3))


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model = TinyModel()
    stopper = EarlyStopping(patience=2, mode="min")
    decisions = []
    for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.55, 0.4], 1):
        with md.no_grad():
            model.weight.fill_(float(epoch))  # "training" changes the weights in place
        decisions.append(stopper.step(loss, model))
        if decisions[-1]:
            break
    assert decisions == [False, False, False, True]
    assert stopper.best == 0.5 and stopper.best_epoch == 2
    np.testing.assert_array_equal(model.weight.detach().numpy(), [2.0, 2.0, 2.0])


def test_early_stopping_max_mode_min_delta_and_state_dict():
    stopper = EarlyStopping(patience=1, mode="max", min_delta=0.05, restore_best_weights=False)
    assert not stopper.step(0.80)
    assert stopper.step(0.83)  # +0.03 is below min_delta: not an improvement
    restored = EarlyStopping()
    restored.load_state_dict(stopper.state_dict())
    assert (restored.best, restored.bad_epochs, restored.mode, restored.should_stop) == (0.80, 1, "max", True)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="lowest")


# ---- curves -------------------------------------------------------------------------------------------
def test_metric_panels_group_by_quantity():
    keys = ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr"]
    assert metric_panels(keys) == {
        "loss": ["train_loss", "val_loss"], "accuracy": ["train_accuracy", "val_accuracy"], "lr": ["lr"],
    }


def test_save_curves_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from minidl.training import save_curves

    history = History()
    for epoch in range(1, 6):
        history.log(epoch=epoch, train_loss=1.0 / epoch, val_loss=1.2 / epoch, val_accuracy=0.5 + 0.05 * epoch)
    path = save_curves(history, tmp_path / "plots" / "curves.png", title="tiny run")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no metric"):
        save_curves(History(), tmp_path / "empty.png")
