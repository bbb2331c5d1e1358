"""Transfer learning, done honestly: a CNN body learnt on Fashion-MNIST reused for Quick, Draw! doodles.

No weights are downloaded. The W1 network (``md.models.qd_cnn``: three conv3x3-ReLU-maxpool
stages, then 576 -> 576 -> 128) is first *pretrained* on Fashion-MNIST's 60,000 clothing images
(10 classes; ``--source mnist`` pretrains on digits instead). Its body (everything but the last
Linear) then serves the 8 Quick Draw categories in ``$MINIDL_DATA/quickdraw/``, with only
``--per-class`` drawings per class to learn from:

1. **from scratch**: ``qd_cnn(8)`` trained on the few drawings alone, the baseline (35 epochs);
2. **frozen body**: the pretrained body frozen (``requires_grad_(False)``), only a new head
   ``Linear(128, 8)`` trained on top of it (20 epochs, lr 1e-2);
3. **fine-tuned**: then everything unfrozen and trained on at a tenth of the head's learning
   rate (15 epochs, lr 1e-3; ``--no-finetune`` skips this).

Each Quick Draw stage runs a fixed number of epochs (no early stopping); the validation split is
watched for the curves, and each stage's model is scored once, at its end, on the held-out test
split (300 or 500 drawings per class, 2,800 in all; never used for any choice).

    python examples/transfer_quickdraw.py                   # 200 drawings per class, ~4 min
    python examples/transfer_quickdraw.py --resume --per-class 20   # reuses the cached pretrained body
    python examples/transfer_quickdraw.py --weights w1.npz  # start from weights exported from PyTorch
    python examples/transfer_quickdraw.py --quick           # tiny budget (for tests)

Measured with the defaults (seed 0; a 2-core CPU shared with other jobs, one BLAS thread); test
accuracy over the 2,800 held-out drawings:

    pretraining on Fashion-MNIST, 3 epochs   87.9% on Fashion-MNIST's test set, 103 s
    from scratch                             88.3%
    frozen pretrained body + new head        71.2%
    ... then fine-tuned                      86.9%
    wall time 4 min 19 s in all (about 2 min with --resume: the pretraining is cached)

So the Fashion-MNIST body does *not* beat training from scratch: frozen, it is far behind;
fine-tuned, it ends level with the baseline, within seed-to-seed noise (over seeds 0-2, from
scratch vs fine-tuned: 88.2% vs 87.4% at 200 per class, 73.5% vs 72.6% at 20, 66.0% vs 66.2%
at 10). ``docs/examples/transfer_quickdraw.md`` has the whole table and why.

``--weights FILE.npz`` skips pretraining and takes the body from a state dict with PyTorch's key
names, written by ``md.save`` or by plain NumPy from a PyTorch twin of W1 (any class count; the
last layer is dropped)::

    np.savez("w1.npz", **{k: v.numpy() for k, v in torch_model.state_dict().items()})

Writes into ``--out``: ``metrics.json`` (each stage's test accuracy, per-epoch losses and
accuracies, seconds), ``curves.png`` (from scratch vs transfer, per epoch) and
``pretrain-<source>.ckpt`` (the pretraining checkpoint, saved every epoch: ``--resume`` reuses
it, or continues it when it was interrupted). The Quick Draw stages take a minute or two and are
simply run again. Data: ``$MINIDL_DATA/fashion-mnist/`` (or ``mnist/``) and
``$MINIDL_DATA/quickdraw/`` (``--data-dir`` overrides).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F
from minidl import optim
from minidl.data import DataLoader, Subset
from minidl.datasets import MNIST, FashionMNIST, QuickDraw
from minidl.serialization import MANIFEST
from minidl.training import History, ResumableLoader, RunningMean, load_checkpoint, progress, save_checkpoint
from minidl.training.metrics import correct
from minidl.training.plots import require_matplotlib

CATEGORIES = ["apple", "bicycle", "cat", "diamond", "eye", "eyeglasses", "fish", "penguin"]
SOURCES = {"fashion-mnist": FashionMNIST, "mnist": MNIST}   # what --source pretrains on


# ---- data ------------------------------------------------------------------------------------


def few_per_class(dataset: QuickDraw, per_class: int, seed: int) -> Subset:
    """``per_class`` drawings of each class, drawn at random (seeded) from ``dataset``."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(len(dataset.classes)):
        members = np.flatnonzero(dataset.targets == label)
        if len(members) < per_class:
            raise ValueError(f"{dataset.classes[label]!r} has {len(members)} training drawings, "
                             f"fewer than --per-class {per_class}")
        chosen.append(rng.choice(members, per_class, replace=False))
    return Subset(dataset, np.sort(np.concatenate(chosen)))


# ---- weights ---------------------------------------------------------------------------------


def read_state_dict(path: str | Path) -> dict:
    """A state dict from ``path``: a file written by ``md.save``, or a plain ``np.savez`` of arrays.

    Either way no pickle is read: plain archives are opened with ``allow_pickle=False``.
    """
    with np.load(path, allow_pickle=False) as archive:
        if MANIFEST not in archive.files:
            return {key: archive[key] for key in archive.files}
    state = md.load(path, map_location="cpu")
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict (name -> array), got {type(state).__name__}")
    return state


def load_body(model: nn.Sequential, state: dict) -> None:
    """Copy every layer but the last (the head) from the W1 state dict ``state`` into ``model``.

    ``state`` may come from ``qd_cnn`` with any number of classes: its head is ignored, and the
    head of ``model`` keeps its fresh initialisation.
    """
    head = f"{len(model) - 1}."
    body = {key: value for key, value in state.items() if not key.startswith(head)}
    missing, unexpected = model.load_state_dict(body, strict=False)
    missing = [key for key in missing if not key.startswith(head)]
    if missing or unexpected:
        raise ValueError(f"not a state dict of md.models.qd_cnn's body: missing {missing}, unexpected {unexpected}")


def freeze_body(model: nn.Sequential, frozen: bool = True) -> list[nn.Parameter]:
    """Freeze (or unfreeze) all layers but the last; returns the parameters left to train."""
    model[:-1].requires_grad_(not frozen)
    return [p for p in model.parameters() if p.requires_grad]


# ---- training --------------------------------------------------------------------------------


def evaluate(model: nn.Module, loader: DataLoader, device: str) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` over ``loader``."""
    model.eval()
    loss, right, seen = RunningMean(), 0, 0
    with md.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss.update(F.cross_entropy(logits, labels).item(), len(labels))
            right += correct(logits, labels)
            seen += len(labels)
    model.train()
    return loss.mean, right / seen


def train_epoch(model: nn.Module, optimizer: optim.Optimizer, loader: DataLoader | ResumableLoader, device: str,
                desc: str) -> float:
    """One pass over ``loader``; returns the mean training loss."""
    loss_mean = RunningMean()
    bar = progress(loader, desc=desc, leave=False)
    for images, labels in bar:
        loss = F.cross_entropy(model(images.to(device)), labels.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_mean.update(loss.item(), len(labels))
        bar.set_postfix(loss=f"{loss_mean.mean:.4f}")
    return loss_mean.mean


def run_stage(name: str, model: nn.Module, parameters: list, lr: float, epochs: int, splits: dict,
              args: argparse.Namespace, history: History, first_epoch: int = 1) -> float:
    """Train ``parameters`` of ``model`` for ``epochs`` with Adam; log per-epoch rows; return the test accuracy.

    The loader's seed depends on ``first_epoch`` only, so training from scratch and training the head
    on the frozen body see the very same batches.
    """
    optimizer = optim.Adam(parameters, lr=lr)
    train_loader = DataLoader(splits["train"], batch_size=args.batch_size, shuffle=True, seed=args.seed + first_epoch)
    val_loader, test_loader = (DataLoader(splits[split], batch_size=1000) for split in ("val", "test"))
    for epoch in range(first_epoch, first_epoch + epochs):
        start = time.perf_counter()
        train_loss = train_epoch(model, optimizer, train_loader, args.device, f"{name} {epoch}")
        val_loss, val_accuracy = evaluate(model, val_loader, args.device)
        history.log(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy,
                    epoch_seconds=time.perf_counter() - start)
    print(f"{name}: {history.summary()}")
    return evaluate(model, test_loader, args.device)[1]


def pretrain(args: argparse.Namespace, checkpoint: Path) -> tuple[dict, dict]:
    """W1 trained on ``--source`` (continued from ``checkpoint`` with ``--resume``): its state dict and a summary."""
    train_set = SOURCES[args.source](args.data_dir, train=True)
    test_set = SOURCES[args.source](args.data_dir, train=False)
    if args.quick:
        train_set, test_set = Subset(train_set, np.arange(4000)), Subset(test_set, np.arange(1000))
    loader = ResumableLoader(DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed))
    model = md.models.qd_cnn(10).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.pretrain_lr)
    history = History()
    done = 0
    if args.resume and checkpoint.exists():
        done = load_checkpoint(checkpoint, model=model, optimizer=optimizer, loader=loader, history=history)["epoch"]
        print(f"resumed pretraining from {checkpoint} after epoch {done}"
              + (" (pretraining skipped)" if done >= args.pretrain_epochs else ""))
    for epoch in range(done + 1, args.pretrain_epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(model, optimizer, loader, args.device, f"pretrain {epoch}/{args.pretrain_epochs}")
        seconds = time.perf_counter() - start
        test_loss, test_accuracy = evaluate(model, DataLoader(test_set, batch_size=1000), args.device)
        history.log(epoch=epoch, train_loss=train_loss, test_loss=test_loss, test_accuracy=test_accuracy,
                    epoch_seconds=seconds)
        print(f"pretraining on {args.source}: {history.summary()}")
        save_checkpoint(checkpoint, epoch=epoch, model=model, optimizer=optimizer, loader=loader, history=history)
    summary = {
        "source": args.source + (" (4,000 images)" if args.quick else ""),
        "epochs": len(history),
        "test_accuracy": history["test_accuracy"][-1],
        "train_loss_per_epoch": history["train_loss"],
        "seconds": float(sum(history["epoch_seconds"])),
    }
    return model.state_dict(), summary


# ---- figure ----------------------------------------------------------------------------------


def draw_curves(histories: dict[str, History], unfreeze_after: int | None, source: str, path: Path) -> None:
    """Training loss and validation accuracy per epoch, from scratch vs transfer, into ``path``."""
    Figure = require_matplotlib()
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, metric in zip(axes, ["train_loss", "val_accuracy"]):
        for label, history in histories.items():
            ax.plot(history.steps(metric), history[metric], marker="o", markersize=2.5, label=label)
        if unfreeze_after is not None:
            ax.axvline(unfreeze_after + 0.5, color="gray", linestyle="--", linewidth=1)
        ax.set_xlabel("epoch on Quick Draw")
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].legend(title="dashed: body unfrozen" if unfreeze_after is not None else None)
    figure.suptitle(f"Few-shot Quick Draw: trained from scratch vs a body pretrained on {source}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


# ---- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=None, help="training drawings per class (default 200)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the new head on the frozen body "
                        "(default 20); from scratch trains for --epochs + --finetune-epochs")
    parser.add_argument("--finetune-epochs", type=int, default=None, help="epochs after unfreezing (default 15)")
    parser.add_argument("--no-finetune", action="store_true", help="stop after training the head")
    parser.add_argument("--source", choices=sorted(SOURCES), default="fashion-mnist", help="what to pretrain on")
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="pretraining epochs (default 3)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate from scratch and for fine-tuning")
    parser.add_argument("--head-lr", type=float, default=1e-2, help="Adam's learning rate for the new head alone")
    parser.add_argument("--pretrain-lr", type=float, default=1e-3)
    parser.add_argument("--weights", default=None, help="a .npz state dict of W1 (PyTorch key names) to start "
                        "from instead of pretraining")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--data-dir", default=None, help="folder holding fashion-mnist/ and quickdraw/ "
                        "(default $MINIDL_DATA)")
    parser.add_argument("--out", default="runs/transfer_quickdraw/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="reuse (or continue) the pretraining in --out")
    parser.add_argument("--quick", action="store_true", help="tiny budget on little data (for tests)")
    args = parser.parse_args()
    defaults = {"per_class": (200, 30), "epochs": (20, 4), "finetune_epochs": (15, 2), "pretrain_epochs": (3, 1)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    md.manual_seed(args.seed)

    # 1. The pretrained body: from a weights file, or learnt on --source.
    if args.weights:
        pretrained, pretraining = read_state_dict(args.weights), {"source": str(args.weights)}
        print(f"body weights from {args.weights} (no pretraining)")
    else:
        pretrained, pretraining = pretrain(args, out / f"pretrain-{args.source}.ckpt")

    # 2. Few-shot Quick Draw: per_class drawings per class to learn from, the rest held out.
    train_full = QuickDraw(args.data_dir, CATEGORIES, split="train", seed=args.seed)
    val_set = QuickDraw(args.data_dir, CATEGORIES, split="val", seed=args.seed)
    test_set = QuickDraw(args.data_dir, CATEGORIES, split="test", seed=args.seed)
    if args.quick:
        val_set = few_per_class(val_set, 25, args.seed)
        test_set = few_per_class(test_set, 50, args.seed)
    train_set = few_per_class(train_full, args.per_class, args.seed)
    splits = {"train": train_set, "val": val_set, "test": test_set}
    print(f"Quick Draw: {len(train_set)} training drawings ({args.per_class} per class), "
          f"{len(val_set)} validation, {len(test_set)} test; classes {', '.join(CATEGORIES)}")

    histories = {"from scratch": History(), "transfer": History()}
    accuracy = {}
    md.manual_seed(args.seed)
    scratch = md.models.qd_cnn(len(CATEGORIES)).to(args.device)
    scratch_epochs = args.epochs + (0 if args.no_finetune else args.finetune_epochs)  # the same number of epochs
    accuracy["from_scratch"] = run_stage("from scratch", scratch, list(scratch.parameters()), args.lr, scratch_epochs,
                                         splits, args, histories["from scratch"])

    md.manual_seed(args.seed)
    model = md.models.qd_cnn(len(CATEGORIES)).to(args.device)
    load_body(model, pretrained)
    head_only = freeze_body(model)
    accuracy["frozen_body"] = run_stage("frozen body, new head", model, head_only, args.head_lr, args.epochs, splits,
                                        args, histories["transfer"])
    if not args.no_finetune:
        everything = freeze_body(model, frozen=False)
        accuracy["fine_tuned"] = run_stage("fine-tuned", model, everything, args.lr, args.finetune_epochs,
                                           splits, args, histories["transfer"], first_epoch=args.epochs + 1)

    draw_curves(histories, None if args.no_finetune else args.epochs, pretraining["source"], out / "curves.png")
    transfer = histories["transfer"]
    metrics = {
        "per_class": args.per_class,
        "categories": CATEGORIES,
        "train_size": len(train_set), "val_size": len(val_set), "test_size": len(test_set),
        "pretraining": pretraining,
        "test_accuracy": accuracy,
        "from_scratch": {key: histories["from scratch"][key] for key in ("train_loss", "val_accuracy")},
        "transfer": {key: transfer[key] for key in ("train_loss", "val_accuracy")},
        "unfrozen_after_epoch": None if args.no_finetune else args.epochs,
        "quickdraw_seconds": float(sum(histories["from scratch"]["epoch_seconds"]) + sum(transfer["epoch_seconds"])),
        "wall_seconds": time.perf_counter() - started,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print("test accuracy on", len(test_set), "held-out drawings: "
          + ", ".join(f"{stage.replace('_', ' ')} {value:.1%}" for stage, value in accuracy.items()))
    print(f"{metrics['wall_seconds']:.0f} s in all; metrics, curves and pretraining checkpoint in {out}/")


if __name__ == "__main__":
    main()
