"""Quick, Draw! doodles: a small CNN (workload W1) tells eight categories apart.

The drawings are Google's Quick, Draw! bitmaps (28 x 28, white ink on black), 3,000 per
category, split 80 / 10 / 10 % into train / val / test by ``minidl.datasets.QuickDraw``
(stratified, the same split for every run with the same ``--seed``). Two recipes:

* ``plain``: W1 as specified (``md.models.qd_cnn``): Adam lr 3e-3, batch 64, 10 epochs, nothing
  else. The same model and recipe in PyTorch on the identical split reach 93.3-93.8 % test
  accuracy (seeds 0-2).
* ``best`` (the default): W1 with batch normalisation after each convolution and dropout after the
  first hidden layer; random rotations, shifts and rescalings of the training drawings, then random
  blur and ink strength (``RandomStrokeStyle``: the classifier learns shapes, not stroke crispness,
  which makes it a fair judge of the VAE's soft reconstructions); the 1cycle learning-rate
  schedule; early stopping on the validation accuracy that gives back the best epoch's weights.

    python examples/quickdraw_cnn.py                        # best recipe, 15 epochs: 95.5 % test accuracy
    python examples/quickdraw_cnn.py --recipe plain         # W1 as specified, 10 epochs: 94.1 % test accuracy
    python examples/quickdraw_cnn.py --categories "cat,dog,The Eiffel Tower" --per-class 5000 --download
    python examples/quickdraw_cnn.py --resume               # continue from runs/quickdraw_cnn/checkpoint.ckpt
    python examples/quickdraw_cnn.py --quick                # 200 drawings per category, 2 epochs (for tests)

(Seed 0, one BLAS thread. The best recipe took 145 s of CPU time, 6 min of wall time on a 2-core
CPU shared with other jobs (8.5 s per epoch when it was idle); the plain one 68 s of CPU time, 2 min.
docs/examples/quickdraw_cnn.md has the figures.)

Writes into ``--out``: ``metrics.json`` (test accuracy, per-class accuracy, confusion matrix, the
per-epoch losses and seconds), ``curves.png``, ``confusion.png``, ``confident_right.png`` and
``confident_wrong.png`` (the test drawings the model was surest about, rightly and wrongly),
``checkpoint.ckpt`` (what ``--resume`` reads), and the trained classifier: ``model.npz`` (its state
dict, ``md.save``) with ``model.json`` (categories, architecture, split), which
:func:`load_or_train_classifier` reads back; the VAE example uses it as its judge.
Data: ``$MINIDL_DATA/quickdraw/<category>.npy`` (``--data-dir`` overrides; ``--download`` fetches).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F
from minidl import optim
from minidl import transforms as T
from minidl.data import DataLoader
from minidl.data.seeding import global_generator
from minidl.datasets import QuickDraw
from minidl.training import (
    EarlyStopping,
    History,
    ResumableLoader,
    RunningMean,
    load_checkpoint,
    progress,
    save_checkpoint,
    save_curves,
)
from minidl.training.plots import require_matplotlib

DEFAULT_CATEGORIES = ("apple", "bicycle", "cat", "diamond", "eye", "eyeglasses", "fish", "penguin")

# What each recipe sets; --epochs, --lr and --batch-size override.
RECIPES: dict[str, dict[str, Any]] = {
    "plain": {"architecture": "qd_cnn", "epochs": 10, "lr": 3e-3, "batch_size": 64, "augment": False,
              "schedule": "constant", "patience": 0},
    "best": {"architecture": "qd_cnn_bn", "epochs": 15, "lr": 3e-3, "batch_size": 64, "augment": True,
             "schedule": "onecycle", "patience": 4},
}


def limit_threads(threads: int) -> None:
    """Use at most ``threads`` CPU threads (0: leave the default, one per core); see ``md.set_num_threads``.

    W1's and W3's matrix products are small: on a 2-core machine that is doing anything else, two
    BLAS threads spend more time waiting for each other than computing. Measured here with other
    jobs running, one thread made a training step 4-10x faster (W3: 624 -> 151 ms).
    """
    if threads > 0:
        md.set_num_threads(threads)


def build_classifier(architecture: str, num_classes: int) -> nn.Sequential:
    """``(N, 1, 28, 28)`` drawings in [0, 1] -> logits ``(N, num_classes)``.

    ``'qd_cnn'`` is W1 exactly (``md.models.qd_cnn``); ``'qd_cnn_bn'`` is W1 with a BatchNorm2d after
    each convolution and Dropout(0.3) after the first hidden layer (same weights otherwise).
    """
    if architecture == "qd_cnn":
        return md.models.qd_cnn(num_classes)
    if architecture != "qd_cnn_bn":
        raise ValueError(f"architecture must be 'qd_cnn' or 'qd_cnn_bn', got {architecture!r}")
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),    # 28 -> 14
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),   # 14 -> 7
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),   # 7 -> 3
        nn.Flatten(),
        nn.Linear(576, 576), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(576, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )


class RandomStrokeStyle:
    """Vary how the strokes look, not what they draw: each drawing of a batch ``(N, 1, H, W)`` is
    blurred by a Gaussian of its own width (sigma uniform in [0, ``max_sigma``] pixels) and its ink
    scaled by its own factor (uniform in [``min_ink``, 1]).

    A classifier trained on crisp white strokes only can fail on a fainter or softer drawing of the
    same thing; the VAE's reconstructions are exactly that, and this classifier judges them.

    Example:
        >>> RandomStrokeStyle()(np.zeros((8, 1, 28, 28), np.float32)).shape
        (8, 1, 28, 28)
    """

    def __init__(self, max_sigma: float = 1.2, min_ink: float = 0.4, radius: int = 3) -> None:
        if max_sigma < 0 or not 0 < min_ink <= 1 or radius < 1:
            raise ValueError(f"need max_sigma >= 0, 0 < min_ink <= 1, radius >= 1; got {max_sigma}, {min_ink}, "
                             f"{radius}")
        self.max_sigma, self.min_ink, self.radius = max_sigma, min_ink, radius

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        rng = global_generator()
        n = batch.shape[0]
        sigma = np.maximum(rng.uniform(0, self.max_sigma, n), 1e-3)          # 1e-3: no blur at all
        offsets = np.arange(-self.radius, self.radius + 1)
        kernels = np.exp(-offsets**2 / (2 * sigma[:, None] ** 2))
        kernels = (kernels / kernels.sum(1, keepdims=True)).astype(batch.dtype)   # (N, 2r + 1)
        r = self.radius
        padded = np.pad(batch, ((0, 0), (0, 0), (r, r), (r, r)))
        rows = np.einsum("nchwk,nk->nchw", sliding_window_view(padded, 2 * r + 1, axis=3), kernels)
        blurred = np.einsum("nchwk,nk->nchw", sliding_window_view(rows, 2 * r + 1, axis=2), kernels)
        ink = rng.uniform(self.min_ink, 1, n).astype(batch.dtype)
        return blurred * ink[:, None, None, None]

    def __repr__(self) -> str:
        return f"RandomStrokeStyle(max_sigma={self.max_sigma}, min_ink={self.min_ink})"


def training_augmentation() -> T.Compose:
    """Small random rotations (up to 10 degrees), shifts (up to 2 px) and rescalings (0.9-1.1) of
    each drawing, then random blur and ink strength: a doodle drawn slightly tilted, off-centre,
    smaller or fainter is still the same thing."""
    return T.Compose([T.RandomAffine(10, translate=(0.08, 0.08), scale=(0.9, 1.1)), RandomStrokeStyle()])


def predict(model: nn.Module, images: np.ndarray, device: str = "cpu", batch_size: int = 500) -> np.ndarray:
    """Class probabilities ``(N, K)`` of drawings ``images: (N, 1, 28, 28)`` float32 in [0, 1]."""
    model.eval()
    chunks = []
    with md.no_grad():
        for start in range(0, len(images), batch_size):
            batch = np.ascontiguousarray(images[start:start + batch_size], dtype=np.float32)
            logits = model(md.from_numpy(batch).to(device))
            chunks.append(F.softmax(logits, dim=1).cpu().numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def as_images(dataset: QuickDraw) -> np.ndarray:
    """All drawings of ``dataset`` as ``(N, 1, 28, 28)`` float32 in [0, 1], untransformed."""
    return dataset.data[:, None].astype(np.float32) / np.float32(255)


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray, device: str) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``images: (N, 1, 28, 28)``, ``labels: (N,)``."""
    probabilities = predict(model, images, device)
    loss = -np.mean(np.log(np.maximum(probabilities[np.arange(len(labels)), labels], 1e-12)))
    return float(loss), float(np.mean(probabilities.argmax(1) == labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def save_confusion(matrix: np.ndarray, names: Sequence[str], path: Path) -> None:
    """The confusion matrix as a heat map with the counts written in the cells."""
    Figure = require_matplotlib()
    size = 2.5 + 0.55 * len(names)
    figure = Figure(figsize=(size + 1, size), layout="constrained")
    ax = figure.subplots()
    shown = ax.imshow(matrix, cmap="Blues")
    figure.colorbar(shown, ax=ax, shrink=0.8)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    rows, cols = np.indices(matrix.shape)
    for row, col, count in zip(rows.ravel(), cols.ravel(), matrix.ravel()):
        ax.text(col, row, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > matrix.max() / 2 else "black")
    ax.set_title(f"Quick Draw test set: {int(np.trace(matrix))} of {int(matrix.sum())} right")
    figure.savefig(path, dpi=100)


def save_drawing_grid(images: np.ndarray, captions: Sequence[str], title: str, path: Path, columns: int = 8) -> None:
    """Drawings ``(N, 1, 28, 28)`` in a grid, black ink on white, each with its caption."""
    Figure = require_matplotlib()
    rows = max(1, -(-len(images) // columns))
    figure = Figure(figsize=(1.35 * columns, 1.5 * rows + 0.4), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption in zip(axes.ravel(), images, captions):
        ax.imshow(1 - image[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(caption, fontsize=7)
    figure.suptitle(title)
    figure.savefig(path, dpi=90)


def train_classifier(
    out: str | Path = "runs/quickdraw_cnn",
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    per_class: int = 3000,
    recipe: str = "best",
    data_dir: str | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int | None = None,
    device: str = "cpu",
    seed: int = 0,
    resume: bool = False,
    download: bool = False,
) -> dict[str, Any]:
    """Train the Quick Draw classifier, write its figures, metrics, checkpoint and ``model.npz`` into ``out``.

    ``epochs``, ``lr`` and ``batch_size`` default to the recipe's (see ``RECIPES``). Returns the metrics
    (also written to ``out/metrics.json``).
    """
    settings = {**RECIPES[recipe]}
    settings.update({key: value for key, value in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size))
                     if value is not None})
    if settings["epochs"] < 1:
        raise ValueError(f"epochs must be at least 1, got {settings['epochs']}")
    out = Path(out)
    md.manual_seed(seed)
    augment = training_augmentation() if settings["augment"] else None
    train_set = QuickDraw(data_dir, categories, per_class, "train", download=download, transform=augment, seed=seed)
    val_set = QuickDraw(data_dir, categories, per_class, "val", seed=seed)
    test_set = QuickDraw(data_dir, categories, per_class, "test", seed=seed)
    names = train_set.classes
    val_images, test_images = as_images(val_set), as_images(test_set)
    train_loader = ResumableLoader(DataLoader(train_set, batch_size=settings["batch_size"], shuffle=True, seed=seed))

    model = build_classifier(settings["architecture"], len(names)).to(device)
    optimizer = optim.Adam(model.parameters(), lr=settings["lr"])
    schedule = None
    if settings["schedule"] == "onecycle":
        schedule = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings["lr"],
                                                 total_steps=settings["epochs"] * len(train_loader))
    stopper = EarlyStopping(patience=settings["patience"], mode="max") if settings["patience"] else None
    history = History()
    stateful = {"model": model, "optimizer": optimizer, "loader": train_loader, "history": history}
    stateful.update({"schedule": schedule} if schedule else {})
    stateful.update({"stopper": stopper} if stopper else {})
    checkpoint = out / "checkpoint.ckpt"
    first_epoch, batch_losses = 0, []
    if resume and checkpoint.exists():
        first_epoch = load_checkpoint(checkpoint, map_location=device, **stateful)["epoch"]
        print(f"resumed from {checkpoint} after epoch {first_epoch}")
        if schedule and schedule.total_steps != settings["epochs"] * len(train_loader):
            planned = schedule.total_steps // len(train_loader)
            raise ValueError(f"the checkpoint's 1cycle schedule spans {planned} epochs, not {settings['epochs']}: "
                             f"resume with --epochs {planned} (a 1cycle run cannot be lengthened)")
        if stopper and stopper.should_stop:
            print(f"nothing to train: the run stopped early after epoch {first_epoch}")
        elif first_epoch >= settings["epochs"]:
            print(f"nothing to train: the checkpoint already holds {first_epoch} epochs (raise --epochs)")
    print(f"Quick Draw CNN ({recipe} recipe, {settings['architecture']}): {len(names)} categories, "
          f"{len(train_set):,} training drawings, {sum(p.numel() for p in model.parameters()):,} parameters")

    start_run = time.perf_counter()
    for epoch in range(first_epoch + 1, settings["epochs"] + 1):
        if stopper and stopper.should_stop:
            break
        model.train()
        train_loss, right, seen = RunningMean(), 0, 0
        start = time.perf_counter()
        bar = progress(train_loader, desc=f"epoch {epoch}/{settings['epochs']}")
        for images, labels in bar:
            images, labels = images.to(device), labels.to(device)
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule:
                schedule.step()
            batch_losses.append(loss.item())
            train_loss.update(batch_losses[-1], len(labels))
            right += int((logits.argmax(1) == labels).sum().item())
            seen += len(labels)
            bar.set_postfix(loss=f"{train_loss.mean:.4f}", accuracy=f"{right / seen:.3f}")
        seconds = time.perf_counter() - start
        val_loss, val_accuracy = evaluate(model, val_images, val_set.targets, device)
        history.log(epoch=epoch, train_loss=train_loss.mean, val_loss=val_loss, train_accuracy=right / seen,
                    val_accuracy=val_accuracy, epoch_seconds=seconds)
        print(history.summary())
        if stopper and stopper.step(val_accuracy, model):
            print(f"early stop: no better validation accuracy for {stopper.patience} epochs; "
                  f"back to epoch {stopper.best_epoch}'s weights")
        save_checkpoint(checkpoint, epoch=epoch, **stateful)
    if stopper:
        stopper.restore(model)  # the best epoch's weights, also when the run used all its epochs

    probabilities = predict(model, test_images, device)
    predicted, confidence = probabilities.argmax(1), probabilities.max(1)
    labels = test_set.targets
    matrix = confusion_matrix(labels, predicted, len(names))
    md.save(model.state_dict(), out / "model.npz")
    description = {"categories": names, "architecture": settings["architecture"], "recipe": recipe,
                   "per_class": per_class, "split_seed": seed, "test_accuracy": float(np.mean(predicted == labels))}
    (out / "model.json").write_text(json.dumps(description, indent=2) + "\n")

    save_curves(history, out / "curves.png", metrics=["train_loss", "val_loss", "train_accuracy", "val_accuracy"],
                title=f"Quick Draw CNN, {recipe} recipe")
    save_confusion(matrix, names, out / "confusion.png")
    for kind, chosen in (("right", predicted == labels), ("wrong", predicted != labels)):
        indices = np.flatnonzero(chosen)
        indices = indices[np.argsort(-confidence[indices])][:32]
        captions = [f"{names[predicted[i]]} {confidence[i]:.0%}"
                    + ("" if kind == "right" else f"\n(is {names[labels[i]]})") for i in indices]
        save_drawing_grid(test_images[indices], captions, f"most confident {kind} test predictions",
                          out / f"confident_{kind}.png")

    metrics = {
        "recipe": recipe,
        **settings,
        "categories": names,
        "per_class": per_class,
        "test_accuracy": description["test_accuracy"],
        "per_class_test_accuracy": dict(zip(names, (np.diag(matrix) / matrix.sum(1)).tolist())),
        "confusion_matrix": matrix.tolist(),
        "best_val_accuracy": max(history["val_accuracy"]) if len(history) else None,
        "best_epoch": stopper.best_epoch if stopper else len(history),
        "epochs_run": len(history),
        "train_loss_per_epoch": history["train_loss"] if len(history) else [],
        "val_accuracy_per_epoch": history["val_accuracy"] if len(history) else [],
        "seconds_per_epoch": history["epoch_seconds"] if len(history) else [],
        "seconds_this_run": time.perf_counter() - start_run,
        # this run's mean loss over its first and its last 20 batches
        "first_loss": float(np.mean(batch_losses[:20])) if batch_losses else None,
        "last_loss": float(np.mean(batch_losses[-20:])) if batch_losses else None,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test accuracy {metrics['test_accuracy']:.4f}; model, figures and metrics in {out}/")
    return metrics


def load_or_train_classifier(
    path: str | Path = "runs/quickdraw_cnn/model.npz",
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    data_dir: str | None = None,
    per_class: int = 3000,
    seed: int = 0,
    device: str = "cpu",
    **training: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """The trained classifier saved at ``path`` (and its ``model.json``), trained there first if missing.

    The classifier must know exactly ``categories``, in that order, and must not have seen the test
    drawings of the split (``per_class``, ``seed``) the caller evaluates on: a saved model for other
    categories or another split raises a ValueError (train one into another folder instead). Extra
    keyword arguments (``recipe``, ``epochs``, ...) go to :func:`train_classifier` when it trains.

    Returns ``(model in eval mode, description)``; ``model(drawings (N, 1, 28, 28))`` -> logits ``(N, K)``.

    Example:
        >>> judge, info = load_or_train_classifier("runs/quickdraw_cnn/model.npz")
        >>> info["categories"][:2], info["test_accuracy"]
    """
    path = Path(path)
    names = [md.datasets.quickdraw.canonical_category(name) for name in categories]
    if not (path.exists() and path.with_suffix(".json").exists()):
        print(f"no trained Quick Draw classifier at {path}: training one first")
        train_classifier(out=path.parent, categories=names, per_class=per_class, data_dir=data_dir, seed=seed,
                         device=device, **training)
        path = path.parent / "model.npz"
    description = json.loads(path.with_suffix(".json").read_text())
    saved_split = (description["categories"], description["per_class"], description["split_seed"])
    if saved_split != (names, per_class, seed):
        raise ValueError(
            f"the classifier at {path} was trained on categories {description['categories']} (per class "
            f"{description['per_class']}, split seed {description['split_seed']}), but {names} (per class "
            f"{per_class}, split seed {seed}) were asked for; give another path to train a matching one"
        )
    model = build_classifier(description["architecture"], len(names))
    model.load_state_dict(md.load(path, map_location=device))
    return model.to(device).eval(), description


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="best")
    parser.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES), help="comma-separated category names")
    parser.add_argument("--per-class", type=int, default=None,
                        help="drawings per category (default 3000; 200 with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's (2 with --quick)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the recipe's (64)")
    parser.add_argument("--lr", type=float, default=None, help="default: the recipe's (3e-3)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (0: one per core)")
    parser.add_argument("--data-dir", default=None, help="folder holding quickdraw/ (default $MINIDL_DATA)")
    parser.add_argument("--download", action="store_true", help="fetch missing or too short category files")
    parser.add_argument("--out", default="runs/quickdraw_cnn/")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initialisation and the order")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--quick", action="store_true", help="200 drawings per category, 2 epochs (for tests)")
    args = parser.parse_args()
    limit_threads(args.threads)
    if args.per_class is None:
        args.per_class = 200 if args.quick else 3000
    if args.quick and args.epochs is None:
        args.epochs = 2
    train_classifier(out=args.out, categories=[name.strip() for name in args.categories.split(",")],
                     per_class=args.per_class, recipe=args.recipe, data_dir=args.data_dir, epochs=args.epochs,
                     lr=args.lr, batch_size=args.batch_size, device=args.device, seed=args.seed,
                     resume=args.resume, download=args.download)


if __name__ == "__main__":
    main()
