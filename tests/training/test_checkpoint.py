"""Checkpoints: save/load round trips, and a training process killed with SIGKILL that resumes bit for bit."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import minidl as md
from minidl import nn, optim, serialization
from minidl.data import DataLoader, TensorDataset
from minidl.optim.lr_scheduler import StepLR
from minidl.training import History, ResumableLoader, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[2]

# A small training run: an MLP with dropout (drawn from minidl's global generator) on synthetic
# data, shuffled batches, Adam, a StepLR schedule, gradient clipping; a checkpoint every 7 steps
# (13 batches an epoch, so most checkpoints fall mid-epoch). Usage: script OUT fresh|resume [slow].
TRAINING_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import numpy as np

    import minidl as md
    from minidl import nn, optim
    from minidl.data import DataLoader, TensorDataset
    from minidl.optim.lr_scheduler import StepLR
    from minidl.training import History, ResumableLoader, load_checkpoint, save_checkpoint

    out, mode, slow = Path(sys.argv[1]), sys.argv[2], len(sys.argv) > 3
    EPOCHS, CHECKPOINT_EVERY = 24, 7


    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = nn.Parameter(md.randn(8, 32) * 0.3)
            self.b1 = nn.Parameter(md.zeros(32))
            self.w2 = nn.Parameter(md.randn(32, 1) * 0.3)
            self.b2 = nn.Parameter(md.zeros(1))

        def forward(self, x):
            hidden = (x @ self.w1 + self.b1).relu()
            keep = (md.rand(*hidden.shape) > 0.2).float()  # dropout: global RNG draws every step
            return (hidden * keep / 0.8) @ self.w2 + self.b2


    md.manual_seed(0)
    inputs = md.randn(200, 8)
    targets = (inputs[:, :1] * inputs[:, 1:2]).tanh() + 0.1 * md.randn(200, 1)
    model = MLP()
    loader = ResumableLoader(DataLoader(TensorDataset(inputs, targets), batch_size=16, shuffle=True))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = StepLR(optimizer, step_size=5, gamma=0.7)
    history = History()
    objects = dict(model=model, optimizer=optimizer, scheduler=scheduler, loader=loader, history=history)

    start = {"epoch": 0, "step": 0}
    if mode == "resume":
        start = load_checkpoint(out / "last.ckpt", **objects)
        print("resumed at step", start["step"], flush=True)
    step = start["step"]
    for epoch in range(start["epoch"], EPOCHS):
        for x, y in loader:
            optimizer.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            step += 1
            if step % CHECKPOINT_EVERY == 0:
                save_checkpoint(out / "last.ckpt", epoch=epoch, step=step, **objects)
            if slow:
                time.sleep(0.01)
        scheduler.step()
        history.log(epoch=epoch, loss=loss)
    np.savez(out / "final.npz", step=step, epochs_logged=len(history),
             **{name: p.detach().numpy() for name, p in model.named_parameters()})
    print("done", step, flush=True)
    """
)


def run_script(script, out, mode, timeout=60):
    return subprocess.run([sys.executable, str(script), str(out), mode], capture_output=True, text=True,
                          timeout=timeout, env=python_env())


def python_env():
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def test_killed_run_resumes_bit_for_bit(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAINING_SCRIPT)
    uninterrupted, interrupted = tmp_path / "uninterrupted", tmp_path / "interrupted"
    uninterrupted.mkdir()
    interrupted.mkdir()

    finished = run_script(script, uninterrupted, "fresh")
    assert finished.returncode == 0, finished.stderr[-3000:]

    # The same run, slowed down, killed once its first checkpoints exist.
    process = subprocess.Popen([sys.executable, str(script), str(interrupted), "fresh", "slow"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=python_env())
    deadline = time.monotonic() + 30
    while not (interrupted / "last.ckpt").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.25)  # a few more steps (and maybe checkpoints) past the first one
    assert process.poll() is None, "the run finished before it could be killed: " + process.stderr.read()[-2000:]
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert not (interrupted / "final.npz").exists()

    resumed = run_script(script, interrupted, "resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed_at = int(resumed.stdout.split("resumed at step")[1].split()[0])
    assert 0 < resumed_at < 24 * 13 and resumed_at % 7 == 0

    expected, got = np.load(uninterrupted / "final.npz"), np.load(interrupted / "final.npz")
    assert sorted(expected.files) == sorted(got.files) and int(got["step"]) == 24 * 13
    for name in expected.files:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)  # bit for bit


# ---- in-process round trips ----------------------------------------------------------------------------
class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(md.randn(4, 1))

    def forward(self, x):
        return x @ self.weight


def make_run(seed):
    """The same data every time; ``seed`` sets the initial weights and the loader's order."""
    data = np.random.default_rng(0).standard_normal((12, 5)).astype(np.float32)
    md.manual_seed(seed)
    model = Regressor()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    dataset = TensorDataset(md.tensor(data[:, :4]), md.tensor(data[:, 4:]))
    loader = ResumableLoader(DataLoader(dataset, batch_size=5, shuffle=True))
    return model, optimizer, scheduler, loader


def batches(loader):
    """The loader's batches, epoch after epoch (one live iterator, so an epoch is never cut short)."""
    while True:
        yield from loader


def train_steps(model, optimizer, stream, steps):
    for _ in range(steps):
        x, y = next(stream)
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()


def test_save_and_load_restore_every_object_and_the_rng(tmp_path):
    model, optimizer, scheduler, loader = make_run(seed=1)
    history = History()
    stream = batches(loader)
    train_steps(model, optimizer, stream, 4)  # 3 batches an epoch: stops 1 batch into the second epoch
    scheduler.step()
    history.log(epoch=0, loss=0.25)
    path = save_checkpoint(tmp_path / "run" / "last.ckpt", epoch=1, step=4, model=model, optimizer=optimizer,
                           scheduler=scheduler, loader=loader, history=history)
    expected_draw = md.rand(3).numpy()

    other_model, other_optimizer, other_scheduler, other_loader = make_run(seed=2)
    other_history = History()
    start = load_checkpoint(path, model=other_model, optimizer=other_optimizer, scheduler=other_scheduler,
                            loader=other_loader, history=other_history)
    assert (start["epoch"], start["step"]) == (1, 4)
    assert start["names"] == ["history", "loader", "model", "optimizer", "scheduler"]
    np.testing.assert_array_equal(md.rand(3).numpy(), expected_draw)  # the global generator came back
    np.testing.assert_array_equal(other_model.weight.detach().numpy(), model.weight.detach().numpy())
    assert other_scheduler.get_last_lr() == scheduler.get_last_lr() == [0.05]
    assert other_optimizer.param_groups[0]["lr"] == 0.05 and other_history.rows == history.rows

    train_steps(model, optimizer, stream, 5)
    train_steps(other_model, other_optimizer, batches(other_loader), 5)
    np.testing.assert_array_equal(other_model.weight.detach().numpy(), model.weight.detach().numpy())


def test_load_checkpoint_errors(tmp_path):
    model, optimizer, _, _ = make_run(seed=0)
    path = save_checkpoint(tmp_path / "a.ckpt", model=model)
    with pytest.raises(KeyError, match=r"no state for \['optimizer'\]"):
        load_checkpoint(path, model=model, optimizer=optimizer)
    serialization.save({"weight": md.zeros(2)}, tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="not a checkpoint"):
        load_checkpoint(tmp_path / "weights.npz", model=model)


def test_save_replaces_the_old_checkpoint_atomically(tmp_path, monkeypatch):
    """A failure while writing leaves the previous checkpoint readable."""
    model, *_ = make_run(seed=0)
    path = save_checkpoint(tmp_path / "last.ckpt", step=1, model=model)

    def broken_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, step=2, model=model)
    monkeypatch.undo()
    assert load_checkpoint(path, model=model)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left behind


def test_schedulers_and_early_stopping_survive_the_file(tmp_path):
    """State with inf, None, tuples, nested dicts and tensors goes through md.save and back."""
    from minidl.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
    from minidl.training import EarlyStopping

    model, _, _, _ = make_run(seed=0)
    adam = optim.Adam(model.parameters(), lr=0.1)
    one_cycle = OneCycleLR(adam, max_lr=0.1, total_steps=10)
    plateau = ReduceLROnPlateau(optim.SGD(model.parameters(), lr=0.1), patience=1)
    fresh_stopper, stopper = EarlyStopping(), EarlyStopping(patience=1)
    stopper.step(0.5, model)
    for _ in range(3):
        one_cycle.step()
        plateau.step(1.0)
    objects = dict(optimizer=adam, one_cycle=one_cycle, plateau=plateau, fresh=fresh_stopper, stopper=stopper)
    path = save_checkpoint(tmp_path / "c.ckpt", **objects)

    other_adam = optim.Adam(model.parameters(), lr=0.1)
    restored = dict(optimizer=other_adam, one_cycle=OneCycleLR(other_adam, max_lr=0.1, total_steps=10),
                    plateau=ReduceLROnPlateau(optim.SGD(model.parameters(), lr=0.1)), fresh=EarlyStopping(),
                    stopper=EarlyStopping())
    load_checkpoint(path, **restored)
    assert restored["one_cycle"].get_last_lr() == one_cycle.get_last_lr()
    assert list(other_adam.param_groups[0]["betas"]) == list(adam.param_groups[0]["betas"])
    restored["one_cycle"].step()
    one_cycle.step()
    assert restored["one_cycle"].get_last_lr() == one_cycle.get_last_lr()
    assert (restored["plateau"].best, restored["plateau"].num_bad_epochs) == (plateau.best, plateau.num_bad_epochs)
    assert restored["fresh"].best == float("inf") and restored["fresh"].best_weights is None
    np.testing.assert_array_equal(restored["stopper"].best_weights["weight"].numpy(),
                                  model.weight.detach().numpy())
