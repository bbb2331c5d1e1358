"""A convolutional variational autoencoder (workload W3) learns to draw Quick, Draw! doodles.

The encoder maps a 28 x 28 drawing to a Gaussian over a ``--latent``-dimensional code
(mean ``mu``, log-variance ``logvar``); a code ``z = mu + exp(logvar / 2) * eps`` is drawn
from it (the reparametrisation trick, so the gradient flows through the draw) and the decoder
turns it back into pixel logits. The loss per drawing is the negative evidence lower bound:

    reconstruction = sum over the 784 pixels of BCE-with-logits(logits, drawing)
    KL             = -1/2 * sum over the latent of (1 + logvar - mu^2 - exp(logvar))

averaged over the batch; Adam (lr 1e-3), batches of 64, gradient-norm clipping.

    python examples/vae_quickdraw.py                  # latent 14, 20 epochs: the judge recognises 87.1 %
    python examples/vae_quickdraw.py --latent 2 --out runs/vae_quickdraw_2d   # the manifold view
    python examples/vae_quickdraw.py --resume         # continue from runs/vae_quickdraw/checkpoint.ckpt
    python examples/vae_quickdraw.py --quick          # 200 drawings per category, 2 epochs (for tests)

Then it judges itself: the Quick Draw CNN of ``examples/quickdraw_cnn.py`` (trained on the same
categories and the same split, so it has never seen these test drawings) classifies the VAE's
reconstructions of the test drawings (``sigmoid(decoder(mu))``); the share it gets right says
how much of what makes a cat a cat survived the trip through the code. If no trained classifier
is at ``--judge`` (default ``runs/quickdraw_cnn/model.npz``, or a folder named after the categories,
drawings per category and seed when they are not the defaults), it trains one there first (best
recipe, 2.5-6 min).

(Seed 0, one BLAS thread, a 2-core CPU shared with other jobs: the default run, judge included,
took 13 min of wall time and 741 s of CPU time: 2.4 min to train the judge, 10 min for the VAE
at ~10 steps/s. The reconstruction term went from ~543 to 160.4 nats, KL 25.0; the judge scores
95.4 % on the original test drawings. docs/examples/vae_quickdraw.md has the figures.)

Writes into ``--out``: ``reconstructions.png`` (test drawings above their reconstructions),
``samples.png`` (decoded draws from the prior N(0, I)), ``latent.png`` (the test drawings' codes,
PCA to 2-D, coloured by category), ``manifold.png`` (with ``--latent 2``: drawings decoded over a
grid of the latent plane), ``curves.png`` (reconstruction and KL per epoch), ``metrics.json``,
``checkpoint.ckpt`` (what ``--resume`` reads) and ``model.npz`` (the VAE's state dict).
Data: ``$MINIDL_DATA/quickdraw/<category>.npy`` (``--data-dir`` overrides).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F
from minidl import optim
from minidl.data import DataLoader
from minidl.datasets import QuickDraw
from minidl.datasets.quickdraw import canonical_category
from minidl.training import History, ResumableLoader, RunningMean, load_checkpoint, progress, save_checkpoint
from minidl.training.plots import require_matplotlib, save_curves

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling example that trains the judge
from quickdraw_cnn import (  # noqa: E402
    DEFAULT_CATEGORIES,
    as_images,
    limit_threads,
    load_or_train_classifier,
    predict,
)


def vae_loss(logits: md.Tensor, images: md.Tensor, mu: md.Tensor, logvar: md.Tensor) -> tuple[md.Tensor, md.Tensor]:
    """Reconstruction and KL terms of the negative ELBO, each summed per drawing and averaged over the batch.

    logits, images: (B, 1, 28, 28); mu, logvar: (B, latent). Returns two scalars; the loss is their sum.
    """
    batch = images.shape[0]
    reconstruction = F.binary_cross_entropy_with_logits(logits, images, reduction="sum") / batch
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum() / batch
    return reconstruction, kl


def encode_and_reconstruct(model: md.models.ConvVAE, images: np.ndarray, device: str,
                           batch_size: int = 500) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Posterior means ``(N, latent)``, reconstructions ``sigmoid(decoder(mu))`` ``(N, 1, 28, 28)``, and the
    mean reconstruction and KL terms per drawing, for ``images: (N, 1, 28, 28)`` in [0, 1]."""
    model.eval()
    means, pictures = [], []
    reconstruction, kl = RunningMean(), RunningMean()
    with md.no_grad():
        for start in range(0, len(images), batch_size):
            batch = md.from_numpy(np.ascontiguousarray(images[start:start + batch_size])).to(device)
            logits, mu, logvar = model(batch)  # eval mode: decoded from mu, no sampling
            terms = vae_loss(logits, batch, mu, logvar)
            reconstruction.update(terms[0].item(), len(batch))
            kl.update(terms[1].item(), len(batch))
            means.append(mu.cpu().numpy())
            pictures.append(logits.sigmoid().cpu().numpy())
    model.train()
    return np.concatenate(means), np.concatenate(pictures), reconstruction.mean, kl.mean


def decode(model: md.models.ConvVAE, codes: np.ndarray, device: str) -> np.ndarray:
    """Drawings ``(N, 1, 28, 28)`` in [0, 1] decoded from latent codes ``(N, latent)``."""
    model.eval()
    with md.no_grad():
        pictures = model.decode(md.from_numpy(codes.astype(np.float32)).to(device)).sigmoid().cpu().numpy()
    model.train()
    return pictures


def principal_components(codes: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Project ``codes: (N, D)`` on their first ``k`` principal axes: ``(N, k)`` and the explained variance ratios."""
    centred = codes - codes.mean(0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2
    return centred @ axes[:k].T, variance[:k] / variance.sum()


def tile(pictures: np.ndarray, columns: int) -> np.ndarray:
    """Lay ``pictures: (N, 1, 28, 28)`` out as one image, ``columns`` per row, a 2-pixel white gap between."""
    rows = -(-len(pictures) // columns)
    padded = np.zeros((rows * columns, 32, 32), pictures.dtype)
    padded[:len(pictures), 2:30, 2:30] = 1 - pictures[:, 0]        # black ink on white paper
    padded[len(pictures):] = 1
    padded[:, :2], padded[:, 30:], padded[:, :, :2], padded[:, :, 30:] = 1, 1, 1, 1
    return padded.reshape(rows, columns, 32, 32).transpose(0, 2, 1, 3).reshape(rows * 32, columns * 32)


def save_image(image: np.ndarray, path: Path, title: str, scale: float = 0.03) -> None:
    """A grey image (H, W) in [0, 1] as a PNG with a title."""
    Figure = require_matplotlib()
    figure = Figure(figsize=(image.shape[1] * scale, image.shape[0] * scale + 0.5), layout="constrained")
    ax = figure.subplots()
    ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    figure.savefig(path, dpi=100)


def save_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, labels: np.ndarray,
                         names: Sequence[str], path: Path, per_class: int = 3) -> None:
    """``per_class`` test drawings of each category (one category per column), each above its reconstruction."""
    picks = np.stack([np.flatnonzero(labels == k)[:per_class] for k in range(len(names))], axis=1)  # (per_class, K)
    rows = np.stack([originals[picks], reconstructions[picks]], axis=1)  # (per_class, 2, K, 1, 28, 28)
    grid = tile(rows.reshape(-1, 1, 28, 28), columns=len(names))
    save_image(grid, path, "test drawings (odd rows) and their reconstructions (even rows): "
               + ", ".join(names), scale=0.035)


def save_latent_scatter(codes: np.ndarray, labels: np.ndarray, names: Sequence[str],
                        path: Path) -> list[float] | None:
    """The codes ``(N, latent)`` in 2-D (PCA when latent > 2), one colour per category.

    Returns the share of the variance each of the two axes explains (None without PCA)."""
    if codes.shape[1] > 2:
        points, explained = principal_components(codes)
        axis_names = [f"PC {i + 1} ({ratio:.0%} of the variance)" for i, ratio in enumerate(explained)]
    else:
        points, explained, axis_names = codes, None, ["z1", "z2"]
    Figure = require_matplotlib()
    figure = Figure(figsize=(7, 5.5), layout="constrained")
    ax = figure.subplots()
    for k, name in enumerate(names):
        chosen = labels == k
        ax.scatter(points[chosen, 0], points[chosen, 1] if points.shape[1] > 1 else 0 * points[chosen, 0],
                   s=4, alpha=0.5, label=name)
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1] if points.shape[1] > 1 else "")
    ax.legend(markerscale=3, fontsize=8)
    ax.set_title(f"test drawings' posterior means, latent {codes.shape[1]}" + (" (PCA)" if codes.shape[1] > 2 else ""))
    figure.savefig(path, dpi=100)
    return None if explained is None else [float(ratio) for ratio in explained]


def default_judge_path(categories: Sequence[str], per_class: int, seed: int, out: Path, quick: bool) -> Path:
    """Where the judge lives: ``runs/quickdraw_cnn/model.npz`` for the default data, a folder named after the
    categories, the drawings per category and the seed otherwise, and inside ``out`` for ``--quick`` runs."""
    if quick:
        return out / "judge" / "model.npz"
    names = [canonical_category(name) for name in categories]
    if names == list(DEFAULT_CATEGORIES) and per_class == 3000 and seed == 0:
        return Path("runs/quickdraw_cnn/model.npz")
    label = "-".join(name.replace(" ", "_") for name in names)
    return Path(f"runs/quickdraw_cnn_{label}_{per_class}_seed{seed}/model.npz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latent", type=int, default=14, help="latent dimensions (2 for the manifold view)")
    parser.add_argument("--epochs", type=int, default=None, help="default 20 (2 with --quick)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clip", type=float, default=100.0, help="max gradient norm (0: no clipping)")
    parser.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES), help="comma-separated category names")
    parser.add_argument("--per-class", type=int, default=None,
                        help="drawings per category (default 3000; 200 with --quick)")
    parser.add_argument("--judge", default=None,
                        help="the trained Quick Draw CNN (default runs/quickdraw_cnn/model.npz for the default "
                             "categories; trained if missing)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (0: one per core)")
    parser.add_argument("--data-dir", default=None, help="folder holding quickdraw/ (default $MINIDL_DATA)")
    parser.add_argument("--out", default="runs/vae_quickdraw/")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initialisation and the order")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--quick", action="store_true",
                        help="200 drawings per category, 2 epochs, a 1-epoch judge in --out (for tests)")
    args = parser.parse_args()
    limit_threads(args.threads)
    if args.epochs is None:
        args.epochs = 2 if args.quick else 20
    if args.per_class is None:
        args.per_class = 200 if args.quick else 3000
    if args.epochs < 1 or args.latent < 1:
        parser.error(f"--epochs and --latent must be at least 1, got {args.epochs} and {args.latent}")
    categories = [name.strip() for name in args.categories.split(",")]
    out = Path(args.out)
    judge_path = Path(args.judge or default_judge_path(categories, args.per_class, args.seed, out, args.quick))
    judge_training = {"recipe": "plain", "epochs": 1} if args.quick else {"recipe": "best"}

    md.manual_seed(args.seed)
    train_set = QuickDraw(args.data_dir, categories, args.per_class, "train", seed=args.seed)
    val_set = QuickDraw(args.data_dir, categories, args.per_class, "val", seed=args.seed)
    test_set = QuickDraw(args.data_dir, categories, args.per_class, "test", seed=args.seed)
    names = train_set.classes
    val_images, test_images = as_images(val_set), as_images(test_set)
    train_loader = ResumableLoader(DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed))

    judge, judge_info = load_or_train_classifier(judge_path, names, args.data_dir, args.per_class, args.seed,
                                                 args.device, **judge_training)
    md.manual_seed(args.seed)  # the same VAE whether or not the judge had to be trained first

    model = md.models.ConvVAE(args.latent).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    history = History()
    batch_losses: list[float] = []
    checkpoint = out / "checkpoint.ckpt"
    first_epoch = 0
    if args.resume and checkpoint.exists():
        first_epoch = load_checkpoint(checkpoint, map_location=args.device, model=model, optimizer=optimizer,
                                      loader=train_loader, history=history)["epoch"]
        print(f"resumed from {checkpoint} after epoch {first_epoch}")
        if first_epoch >= args.epochs:
            print(f"nothing to train: the checkpoint already holds {first_epoch} epochs (raise --epochs)")
    print(f"convolutional VAE, latent {args.latent}: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"{len(train_set):,} training drawings of {', '.join(names)}")

    for epoch in range(first_epoch + 1, args.epochs + 1):
        reconstruction_mean, kl_mean = RunningMean(), RunningMean()
        start = time.perf_counter()
        bar = progress(train_loader, desc=f"epoch {epoch}/{args.epochs}")
        for images, _ in bar:
            images = images.to(args.device)
            logits, mu, logvar = model(images)
            reconstruction, kl = vae_loss(logits, images, mu, logvar)
            loss = reconstruction + kl
            optimizer.zero_grad()
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            batch_losses.append(loss.item())
            reconstruction_mean.update(reconstruction.item(), len(images))
            kl_mean.update(kl.item(), len(images))
            bar.set_postfix(reconstruction=f"{reconstruction_mean.mean:.1f}", kl=f"{kl_mean.mean:.2f}")
        seconds = time.perf_counter() - start
        _, val_pictures, val_reconstruction, val_kl = encode_and_reconstruct(model, val_images, args.device)
        val_judge = float(np.mean(predict(judge, val_pictures, args.device).argmax(1) == val_set.targets))
        history.log(epoch=epoch, train_reconstruction=reconstruction_mean.mean, val_reconstruction=val_reconstruction,
                    train_kl=kl_mean.mean, val_kl=val_kl, val_judge_accuracy=val_judge, epoch_seconds=seconds,
                    steps_per_second=len(train_loader) / seconds)
        print(history.summary())
        save_checkpoint(checkpoint, epoch=epoch, model=model, optimizer=optimizer, loader=train_loader,
                        history=history)
    md.save(model.state_dict(), out / "model.npz")

    codes, reconstructions, test_reconstruction, test_kl = encode_and_reconstruct(model, test_images, args.device)
    labels = test_set.targets
    save_reconstructions(test_images, reconstructions, labels, names, out / "reconstructions.png")
    prior_draws = md.randn(64, args.latent).numpy()
    save_image(tile(decode(model, prior_draws, args.device), columns=8), out / "samples.png",
               f"64 drawings decoded from z ~ N(0, I), latent {args.latent}")
    explained = save_latent_scatter(codes, labels, names, out / "latent.png")
    if args.latent == 2:
        steps = np.linspace(-2.5, 2.5, 15)
        plane = np.stack(np.meshgrid(steps, -steps), axis=-1).reshape(-1, 2)  # rows from z2 = +2.5 down to -2.5
        save_image(tile(decode(model, plane, args.device), columns=15), out / "manifold.png",
                   "drawings decoded over the latent plane, z1 and z2 from -2.5 to 2.5", scale=0.02)
    if len(history):
        save_curves(history, out / "curves.png",
                    metrics=["train_reconstruction", "val_reconstruction", "train_kl", "val_kl", "val_judge_accuracy"],
                    title=f"convolutional VAE on Quick Draw, latent {args.latent}")

    judged = predict(judge, reconstructions, args.device).argmax(1)
    on_originals = predict(judge, test_images, args.device).argmax(1)
    judge_accuracy = float(np.mean(judged == labels))
    metrics = {
        "latent": args.latent,
        "categories": names,
        "per_class": args.per_class,
        "test_reconstruction": test_reconstruction,
        "test_kl": test_kl,
        "test_loss": test_reconstruction + test_kl,
        "judge_accuracy": judge_accuracy,
        "judge_accuracy_per_class": {name: float(np.mean(judged[labels == k] == k)) for k, name in enumerate(names)},
        "judge_accuracy_on_originals": float(np.mean(on_originals == labels)),
        "judge": str(judge_path),
        "judge_recipe": judge_info["recipe"],
        "latent_pca_explained_variance": explained,
        "train_reconstruction_per_epoch": history["train_reconstruction"] if len(history) else [],
        "train_kl_per_epoch": history["train_kl"] if len(history) else [],
        "val_reconstruction_per_epoch": history["val_reconstruction"] if len(history) else [],
        "val_kl_per_epoch": history["val_kl"] if len(history) else [],
        "val_judge_accuracy_per_epoch": history["val_judge_accuracy"] if len(history) else [],
        "seconds_per_epoch": history["epoch_seconds"] if len(history) else [],
        "steps_per_second": history["steps_per_second"] if len(history) else [],
        # this run's mean loss over its first and its last 20 batches
        "first_loss": float(np.mean(batch_losses[:20])) if batch_losses else None,
        "last_loss": float(np.mean(batch_losses[-20:])) if batch_losses else None,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test loss {metrics['test_loss']:.1f} (reconstruction {test_reconstruction:.1f} + KL {test_kl:.1f})")
    print(f"the judge recognises {judge_accuracy:.1%} of the reconstructed test drawings "
          f"({metrics['judge_accuracy_on_originals']:.1%} of the originals); figures and metrics in {out}/")


if __name__ == "__main__":
    main()
