"""MNIST three ways: softmax regression, a five-layer MLP, and a convolutional network.

The classic ladder of the TensorFlow "MNIST without a PhD" tutorial, one flag apart:

- ``--model softmax``: one ``Linear(784, 10)``, i.e. multinomial logistic regression (target 92%).
- ``--model mlp``: W6, five ReLU layers 784-200-100-60-30-10 with dropout 0.25 (target 98.2%).
- ``--model cnn``: W2, three strided convolutions, a 200-unit layer and dropout (target 99.2%).

All three train with Adam and cross-entropy on 55,000 training images; 5,000 more are held out
as a validation set that picks the epoch whose weights are kept, and only that model meets the
10,000 test images, once, at the end. The learning rate follows a one-cycle schedule (a short
warm-up, then a cosine decay to nearly zero); the MLP and the CNN also see their training digits
shifted by up to 1 pixel each way (``--shift``).

    python examples/mnist.py --model softmax     # 5 epochs:  92.80% test accuracy, 11 s
    python examples/mnist.py --model mlp         # 10 epochs: 98.28% test accuracy, 15 s
    python examples/mnist.py --model cnn         # 10 epochs: 99.20% test accuracy, 12-81 s per epoch
    python examples/mnist.py --model cnn --resume     # finish an interrupted run from its checkpoint.ckpt
    python examples/mnist.py --quick             # 5,000 images, 1 epoch (for tests)

(Seed 0, on a 2-core CPU, often shared with other jobs. The CNN's epochs took 12-81 s with the compiled
convolution kernels of ``minidl/ops/cpu_kernels.py`` and 3-9 min without them; per-epoch numbers
in docs/examples/mnist.md.)

Writes into ``--out`` (default ``runs/mnist/<model>/``): ``metrics.json`` (test accuracy of the
kept model, per-epoch losses, accuracies and seconds), ``curves.png``, ``misclassified.png`` (test
digits the model gets wrong, with its guess), ``model.npz`` (the kept weights, a plain
``md.save(model.state_dict())``) and ``checkpoint.ckpt`` (what ``--resume`` reads: a run stopped
part-way, restarted with the same flags and ``--resume``, ends exactly where it would have ended).

``examples/gan_mnist.py`` judges its generated digits with the CNN trained here: it calls
:func:`load_or_train_judge`, which loads ``runs/mnist/cnn/model.npz`` or trains it first.
Data: ``minidl.datasets.MNIST`` reads ``$MINIDL_DATA/mnist/`` (``--data-dir`` overrides).
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
from minidl import transforms as T
from minidl.data import DataLoader, Subset
from minidl.datasets import MNIST
from minidl.training import History, ResumableLoader, RunningMean, load_checkpoint, progress, save_checkpoint
from minidl.training.plots import require_matplotlib, save_curves

# Per model: default epochs and peak learning rate of the one-cycle schedule.
RECIPES = {
    "softmax": {"epochs": 5, "lr": 1e-2},
    "mlp": {"epochs": 10, "lr": 3e-3},
    "cnn": {"epochs": 10, "lr": 3e-3},
}
VALIDATION_SIZE = 5000


def build_model(name: str, dropout: float = 0.25) -> nn.Module:
    """(N, 1, 28, 28) images in [0, 1] -> logits (N, 10); ``dropout`` for the MLP and the CNN."""
    if name == "softmax":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if name == "mlp":
        return md.models.mnist_mlp(dropout)
    if name == "cnn":
        return md.models.mnist_cnn(dropout)
    raise ValueError(f"unknown model {name!r}; expected one of {sorted(RECIPES)}")


def cnn_features(model: nn.Sequential, images: md.Tensor) -> md.Tensor:
    """The W2 CNN's penultimate layer: (N, 1, 28, 28) -> (N, 200) ReLU activations (before dropout)."""
    return model[:11](images)


def predict(model: nn.Module, loader: DataLoader, device: str) -> tuple[float, float, np.ndarray]:
    """Mean cross-entropy and accuracy over ``loader``, and the predicted class of every sample: (N,)."""
    model.eval()
    loss, predictions, targets = RunningMean(), [], []
    with md.no_grad():
        for images, labels in loader:
            logits = model(images.to(device))
            loss.update(F.cross_entropy(logits, labels.to(device)).item(), len(labels))
            predictions.append(logits.argmax(1).cpu().numpy())
            targets.append(labels.numpy())
    model.train()
    predictions = np.concatenate(predictions)
    return loss.mean, float(np.mean(predictions == np.concatenate(targets))), predictions


def save_misclassified(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray, path: Path,
                       count: int = 40) -> None:
    """A grid of the first ``count`` test digits the model gets wrong, titled 'label -> guess'.

    images: (N, 1, 28, 28) in [0, 1]; labels, predictions: (N,).
    """
    Figure = require_matplotlib()
    wrong = np.flatnonzero(labels != predictions)[:count]
    columns = 10
    rows = max(1, -(-len(wrong) // columns))
    figure = Figure(figsize=(columns * 0.9, rows * 1.05 + 0.4), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, index in zip(axes.ravel(), wrong):
        ax.imshow(images[index, 0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{labels[index]} \u2192 {predictions[index]}", fontsize=9)
    figure.suptitle(f"{int((labels != predictions).sum())} of {len(labels)} test digits misclassified "
                    f"(label \u2192 prediction); the first {len(wrong)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(RECIPES), default="cnn")
    parser.add_argument("--epochs", type=int, default=None, help="default per model (1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default per model)")
    parser.add_argument("--shift", type=int, default=None,
                        help="augment by random shifts of up to this many pixels (default 1, 0 for softmax)")
    parser.add_argument("--dropout", type=float, default=0.25, help="dropout probability (MLP and CNN)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (default $MINIDL_DATA)")
    parser.add_argument("--out", default=None, help="default runs/mnist/<model>/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--quick", action="store_true", help="5,000 training images, 1 epoch by default (for tests)")
    args = parser.parse_args(argv)
    recipe = RECIPES[args.model]
    if args.epochs is None:
        args.epochs = 1 if args.quick else recipe["epochs"]
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    args.lr = recipe["lr"] if args.lr is None else args.lr
    args.shift = (0 if args.model == "softmax" else 1) if args.shift is None else args.shift
    args.out = Path(args.out if args.out is not None else f"runs/mnist/{args.model}")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Train, keep the epoch with the best validation accuracy, test it; returns the metrics."""
    args = parse_args(argv)
    md.manual_seed(args.seed)
    augment = T.RandomShift(args.shift) if args.shift > 0 else None
    train_images = MNIST(args.data_dir, train=True, transform=augment)
    plain_images = MNIST(args.data_dir, train=True)   # validation digits are not augmented
    test_set = MNIST(args.data_dir, train=False)
    order = np.random.default_rng(args.seed).permutation(len(train_images))
    train_set, val_set = Subset(train_images, order[VALIDATION_SIZE:]), Subset(plain_images, order[:VALIDATION_SIZE])
    if args.quick:
        train_set, val_set = Subset(train_set, np.arange(5000)), Subset(val_set, np.arange(1000))
        test_set = Subset(test_set, np.arange(1000))
    train_loader = ResumableLoader(DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed))
    val_loader = DataLoader(val_set, batch_size=1000)
    test_loader = DataLoader(test_set, batch_size=1000)

    model = build_model(args.model, args.dropout).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                              steps_per_epoch=len(train_loader), pct_start=0.15)
    history = History()
    batch_losses: list[float] = []
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    checkpoint, weights = out / "checkpoint.ckpt", out / "model.npz"
    first_epoch = 0
    if args.resume and checkpoint.exists():
        first_epoch = load_checkpoint(checkpoint, model=model, optimizer=optimizer, scheduler=scheduler,
                                      loader=train_loader, history=history)["epoch"]
        if scheduler.total_steps != args.epochs * len(train_loader):
            raise SystemExit(f"{checkpoint} holds a learning-rate schedule of {scheduler.total_steps} steps, this run "
                             f"would need {args.epochs * len(train_loader)}: resume with the --epochs (and "
                             "--batch-size) of the run that wrote it")
        print(f"resumed from {checkpoint} after epoch {first_epoch}")
        if first_epoch >= args.epochs:
            print(f"nothing to train: the checkpoint already holds {first_epoch} epochs (raise --epochs)")
    print(f"{args.model} on MNIST: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{len(train_set):,} training / {len(val_set):,} validation images")

    for epoch in range(first_epoch + 1, args.epochs + 1):
        train_loss = RunningMean()
        start = time.perf_counter()
        bar = progress(train_loader, desc=f"{args.model} epoch {epoch}/{args.epochs}")
        for images, labels in bar:
            loss = F.cross_entropy(model(images.to(args.device)), labels.to(args.device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            batch_losses.append(loss.item())
            train_loss.update(batch_losses[-1], len(labels))
            bar.set_postfix(loss=f"{train_loss.mean:.4f}")
        seconds = time.perf_counter() - start
        val_loss, val_accuracy, _ = predict(model, val_loader, args.device)
        if "val_accuracy" not in history or val_accuracy > history.best("val_accuracy", mode="max")[1]:
            md.save(model.state_dict(), weights)   # the kept model: best on validation so far
        history.log(epoch=epoch, train_loss=train_loss.mean, val_loss=val_loss, val_accuracy=val_accuracy,
                    epoch_seconds=seconds)
        print(history.summary())
        save_checkpoint(checkpoint, epoch=epoch, model=model, optimizer=optimizer, scheduler=scheduler,
                        loader=train_loader, history=history)

    best_epoch, best_val_accuracy = history.best("val_accuracy", mode="max")
    model.load_state_dict(md.load(weights))
    test_loss, test_accuracy, test_predictions = predict(model, test_loader, args.device)
    test_images, test_labels = test_set.get_batch(np.arange(len(test_set)))
    save_curves(history, out / "curves.png", metrics=["train_loss", "val_loss", "val_accuracy"],
                title=f"{args.model} on MNIST")
    save_misclassified(test_images, test_labels, test_predictions, out / "misclassified.png")
    metrics = {
        "model": args.model,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "best_epoch": int(best_epoch),
        "best_val_accuracy": best_val_accuracy,
        "train_loss_per_epoch": history["train_loss"],
        "val_loss_per_epoch": history["val_loss"],
        "val_accuracy_per_epoch": history["val_accuracy"],
        "seconds_per_epoch": history["epoch_seconds"],
        "total_train_seconds": sum(history["epoch_seconds"]),
        # this run's mean loss over its first and its last 20 batches
        "first_loss": float(np.mean(batch_losses[:20])) if batch_losses else None,
        "last_loss": float(np.mean(batch_losses[-20:])) if batch_losses else None,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test accuracy {test_accuracy:.4f} (weights of epoch {best_epoch:g}, best on validation); "
          f"metrics, figures, weights and checkpoint in {out}/")
    return metrics


def load_or_train_judge(run_dir: str | Path = "runs/mnist/cnn", data_dir: str | None = None, device: str = "cpu",
                        quick: bool = False) -> nn.Sequential:
    """The W2 CNN of ``run_dir/model.npz`` in eval mode; trains it there first (``main``) if the file is missing.

    ``quick`` trains the ``--quick`` version (seconds, ~90% accurate: for tests only).
    """
    weights = Path(run_dir) / "model.npz"
    if not weights.exists():
        print(f"no judge at {weights}: training the MNIST CNN first")
        argv = ["--model", "cnn", "--out", str(run_dir), "--device", device] + ["--quick"] * quick
        main(argv + (["--data-dir", str(data_dir)] if data_dir is not None else []))
    judge = build_model("cnn")
    judge.load_state_dict(md.load(weights))
    return judge.to(device).eval()


if __name__ == "__main__":
    main()
