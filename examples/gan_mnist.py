"""A DCGAN draws handwritten digits (or Quick, Draw! doodles), judged by the MNIST CNN.

Workload W4: the generator maps 100-d Gaussian noise through Linear-BatchNorm-ReLU and two
transposed convolutions (7 -> 14 -> 28) to a tanh image; the discriminator reads an image
through two strided convolutions (LeakyReLU 0.2, BatchNorm) to one real/fake logit. Images
are scaled to [-1, 1]. One step is one discriminator update on a real and a generated batch
(binary cross-entropy with logits; real images get the target 0.9, one-sided label smoothing;
every 4th step plus the R1 penalty ``gamma/2 * |grad_x D(x)|^2`` on the real images, a double
backward) and one generator update with the non-saturating loss
(-log D(G(z)): the generator is trained to make D call its images real). Adam, lr 2e-4,
betas (0.5, 0.999), batches of 64. ``--r1`` sets gamma (0: no penalty), ``--real-label`` D's
target for real images (1.0: no smoothing), ``--d-lr`` D's own learning rate, ``--lr-decay``
a linear decay of both rates to 0 and ``--ema`` sampling from an exponential moving average of
G's weights; the measured variants are in docs/examples/gan_mnist.md.

    python examples/gan_mnist.py                     # 20 epochs (18,740 steps): score 8.12, FID 41.4
    python examples/gan_mnist.py --dataset quickdraw # the 8 Quick, Draw! categories in $MINIDL_DATA
    python examples/gan_mnist.py --resume            # continue from runs/gan_mnist/checkpoint.ckpt
    python examples/gan_mnist.py --quick             # 10 steps on 640 images (for tests)

(Seed 0 on a 2-core CPU: 80-94 s per epoch on a quiet machine, 33 min in all for the measured
run, part of it beside the test suite; 7.75 after 11 epochs. See docs/examples/gan_mnist.md.)

How good are the digits? The W2 CNN of ``examples/mnist.py`` (99.20% test accuracy; trained
first if ``runs/mnist/cnn/model.npz`` is missing) judges 10,000 generated digits:

- the classifier score ``exp(E_x[KL(p(y|x) || p(y))])``: high when each digit is clearly one
  class (confident ``p(y|x)``) and all ten classes come out equally often (flat ``p(y)``); at
  most 10, and 1 when every image gets the same prediction. It is the Inception score with the MNIST CNN for Inception.
- the Fréchet distance between Gaussians fitted to the CNN's 200-d penultimate features of the
  generated digits and of the 10,000 real test digits (FID with the MNIST CNN for Inception):
  0 for identical statistics, lower is better.

With ``--dataset quickdraw`` no judge runs (an MNIST classifier says nothing about doodles).

Writes into ``--out``: ``samples_epoch_NN.png`` (the same 64 noise vectors after every epoch),
``samples.png`` (100 fresh samples at the end), ``losses.png`` (D and G loss per step),
``metrics.json`` (losses, seconds and the judge's numbers) and ``checkpoint.ckpt`` (``--resume``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from mnist import cnn_features, load_or_train_judge  # examples/mnist.py, beside this file

import minidl as md
import minidl.nn as nn
import minidl.nn.functional as F
from minidl import optim
from minidl import transforms as T
from minidl.data import DataLoader, Subset
from minidl.datasets import MNIST, QuickDraw
from minidl.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from minidl.training import History, ResumableLoader, RunningMean, load_checkpoint, progress, save_checkpoint
from minidl.training.plots import require_matplotlib

QUICKDRAW_CATEGORIES = ["apple", "bicycle", "cat", "diamond", "eye", "eyeglasses", "fish", "penguin"]
NOISE_SIZE = 100


# ---- the judge's two numbers -------------------------------------------------------------------

def classifier_score(probabilities: np.ndarray) -> float:
    """``exp(mean_i KL(p(y|x_i) || p(y)))`` with ``p(y) = mean_i p(y|x_i)``.

    probabilities: (N, K), each row a distribution over K classes. Between 1 (every row the
    same) and K (every row one-hot, the K classes equally often).

    Example:
        >>> classifier_score(np.eye(10)[np.arange(1000) % 10])    # confident and balanced
        10.0
    """
    p = np.asarray(probabilities, dtype=np.float64)
    log_p = np.log(np.clip(p, 1e-30, None))
    log_marginal = np.log(np.clip(p.mean(axis=0), 1e-30, None))
    return float(np.exp(np.mean(np.sum(p * (log_p - log_marginal), axis=1))))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite (D, D) matrix, by eigh."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D):

    ``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))``.

    ``S_a S_b`` has the eigenvalues of the symmetric PSD ``S_a^(1/2) S_b S_a^(1/2)``, so the
    trace of its square root is the sum of the square roots of those eigenvalues (``eigvalsh``,
    no scipy needed).

    Example:
        >>> x = np.random.default_rng(0).normal(size=(5000, 4))
        >>> round(frechet_distance(x, x + 1), 6)            # equal covariances: |mu_a - mu_b|^2
        4.0
    """
    a, b = np.asarray(features_a, dtype=np.float64), np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance: expected (N_a, D) and (N_b, D) features, got {a.shape} and {b.shape}")
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def judge_outputs(judge: nn.Sequential, images: md.Tensor, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (N, 10) and penultimate features (N, 200) of images (N, 1, 28, 28) in [0, 1]."""
    probabilities, features = [], []
    with md.no_grad():
        for start in range(0, images.shape[0], batch_size):
            hidden = cnn_features(judge, images[start:start + batch_size])
            probabilities.append(F.softmax(judge[11:](hidden), dim=1).cpu().numpy())
            features.append(hidden.cpu().numpy())
    return np.concatenate(probabilities), np.concatenate(features)


def generate(generator: nn.Module, count: int, device: str, batch_size: int = 500) -> md.Tensor:
    """``count`` images (count, 1, 28, 28) in [-1, 1] from fresh noise, the generator in eval mode."""
    generator.eval()
    with md.no_grad():
        images = md.cat([generator(md.randn(min(batch_size, count - start), NOISE_SIZE, device=device))
                         for start in range(0, count, batch_size)])
    generator.train()
    return images


def r1_penalty(real_logits: md.Tensor, real: md.Tensor) -> md.Tensor:
    """R1 (Mescheder et al., 2018): ``mean_x |grad_x D(x)|^2`` over the real images ``x (N, 1, 28, 28)``.

    The gradient is taken with ``create_graph=True``, so that D's optimiser can descend the
    penalty too: a double backward through the discriminator. Flat around the real digits, D
    cannot push G with gradients that grow without bound, and training stays stable.
    """
    (grad,) = md.autograd.grad(real_logits.sum(), real, create_graph=True)
    return (grad ** 2).sum() / real.shape[0]


def sampling_generator(generator: nn.Module, ema: AveragedModel | None, device: str) -> nn.Module:
    """The generator that draws the samples: ``generator`` itself, or with ``--ema`` its average, whose
    BatchNorm statistics are recomputed for the averaged weights (from 10,000 noise vectors)."""
    if ema is None:
        return generator
    update_bn([md.randn(500, NOISE_SIZE, device=device) for _ in range(20)], ema.module)
    return ema.module


def to_unit_range(images: md.Tensor) -> md.Tensor:
    """[-1, 1] -> [0, 1], the judge's input range."""
    return (images + 1) / 2


# ---- figures ------------------------------------------------------------------------------------

def save_grid(images: np.ndarray, path: Path, title: str, columns: int = 8) -> None:
    """Tile images (N, 1, 28, 28) in [-1, 1] into one picture, ``columns`` per row, with a 2-px gap."""
    Figure = require_matplotlib()
    n = len(images)
    rows = -(-n // columns)
    canvas = np.zeros((rows * 30 + 2, columns * 30 + 2), dtype=np.float32)   # white: no ink
    tiles = np.zeros((rows * columns, 28, 28), dtype=np.float32)
    tiles[:n] = (images[:, 0] + 1) / 2
    blocks = tiles.reshape(rows, columns, 28, 28)
    view = canvas[2:, 2:].reshape(rows, 30, columns, 30)
    view[:, :28, :, :28] = blocks.transpose(0, 2, 1, 3)
    figure = Figure(figsize=(columns * 0.42 + 0.2, rows * 0.42 + 0.5), layout="constrained")
    ax = figure.subplots()
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


def save_losses(steps: History, path: Path, window: int = 50) -> None:
    """D and G loss per step (faint) and their moving averages over ``window`` steps."""
    Figure = require_matplotlib()
    figure = Figure(figsize=(7, 3.6), layout="constrained")
    ax = figure.subplots()
    for key, colour in (("d_loss", "tab:blue"), ("g_loss", "tab:orange")):
        values = np.asarray(steps[key])
        x = np.arange(1, len(values) + 1)
        ax.plot(x, values, color=colour, alpha=0.25, linewidth=0.6)
        if len(values) >= window:
            smooth = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(x[window - 1:], smooth, color=colour, label=f"{key} ({window}-step mean)")
        else:
            ax.plot(x, values, color=colour, label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("binary cross-entropy")
    ax.grid(alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


# ---- training -----------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["mnist", "quickdraw"], default="mnist")
    parser.add_argument("--epochs", type=int, default=None, help="default 20 (1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate of the generator")
    parser.add_argument("--d-lr", type=float, default=None,
                        help="Adam learning rate of the discriminator (default --lr)")
    parser.add_argument("--real-label", type=float, default=0.9,
                        help="the discriminator's target for real images (0.9: one-sided label smoothing; 1: none)")
    parser.add_argument("--r1", type=float, default=1.0,
                        help="weight gamma of the R1 penalty gamma/2 * |grad_x D(x)|^2 on real images (0: none)")
    parser.add_argument("--r1-every", type=int, default=4,
                        help="apply the R1 penalty every this many steps, scaled up to match (lazy regularisation)")
    parser.add_argument("--lr-decay", action="store_true",
                        help="decay both learning rates linearly to 0 over the run (--epochs)")
    parser.add_argument("--ema", type=float, default=0.0,
                        help="decay of the generator's exponential moving average that draws the samples "
                             "(0, the default: none; measured, the average scored no better than the last step)")
    parser.add_argument("--judge", default=None,
                        help="folder of the MNIST CNN's model.npz (default runs/mnist/cnn; with --quick <out>/judge)")
    parser.add_argument("--judge-samples", type=int, default=None, help="generated digits judged (default 10,000)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ and quickdraw/ (default $MINIDL_DATA)")
    parser.add_argument("--out", default="runs/gan_mnist/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--quick", action="store_true", help="640 training images, 1 epoch by default (for tests)")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 20
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.r1 < 0 or args.r1_every < 1:
        parser.error(f"--r1 must be >= 0 and --r1-every >= 1, got {args.r1} and {args.r1_every}")
    if not 0 <= args.ema < 1:
        parser.error(f"--ema must be in [0, 1), got {args.ema}")
    if args.judge_samples is None:
        args.judge_samples = 500 if args.quick else 10_000
    if args.d_lr is None:
        args.d_lr = args.lr
    args.out = Path(args.out)
    if args.judge is None:
        args.judge = args.out / "judge" if args.quick else Path("runs/mnist/cnn")
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    to_signed = T.Normalize((0.5,), (0.5,))   # [0, 1] -> [-1, 1]
    if args.dataset == "mnist":
        train_set = MNIST(args.data_dir, train=True, transform=to_signed)
    else:
        train_set = QuickDraw(args.data_dir, QUICKDRAW_CATEGORIES, split="train", transform=to_signed)
    if args.quick:
        train_set = Subset(train_set, np.arange(640))
    judge = None
    if args.dataset == "mnist":   # trained (or loaded) before the GAN's seed is set, so it changes nothing below
        judge = load_or_train_judge(args.judge, args.data_dir, args.device, quick=args.quick)

    md.manual_seed(args.seed)
    loader = ResumableLoader(DataLoader(train_set, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                        seed=args.seed))
    generator = md.models.Generator(NOISE_SIZE).to(args.device)
    discriminator = md.models.Discriminator().to(args.device)
    g_optimizer = optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    d_optimizer = optim.Adam(discriminator.parameters(), lr=args.d_lr, betas=(0.5, 0.999))
    fixed_noise = md.randn(64, NOISE_SIZE).to(args.device)
    real_labels = md.ones(args.batch_size, 1, device=args.device)
    d_real_labels = md.full((args.batch_size, 1), args.real_label, device=args.device)  # D's target for real images
    fake_labels = md.zeros(args.batch_size, 1, device=args.device)
    # with --ema, the samples come from an exponential moving average of G's weights
    ema = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(args.ema)) if args.ema > 0 else None
    schedules = {}
    if args.lr_decay:   # per step, from the full rate at step 0 to 0 after the last
        total_steps = args.epochs * len(loader)
        schedules = {f"{name}_schedule": optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total_steps)
                     for name, optimizer in (("g", g_optimizer), ("d", d_optimizer))}
    history, steps = History(), History()   # one row per epoch; one row per step (the losses)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "checkpoint.ckpt"
    state = dict(generator=generator, discriminator=discriminator, g_optimizer=g_optimizer, d_optimizer=d_optimizer,
                 loader=loader, history=history, steps=steps, **({"ema": ema} if ema is not None else {}), **schedules)
    first_epoch = 0
    if args.resume and checkpoint.exists():
        first_epoch = load_checkpoint(checkpoint, **state)["epoch"]
        print(f"resumed from {checkpoint} after epoch {first_epoch}")
        if first_epoch >= args.epochs:
            print(f"nothing to train: the checkpoint already holds {first_epoch} epochs (raise --epochs)")
    print(f"DCGAN on {args.dataset}: {len(train_set):,} images, {len(loader)} steps per epoch")

    for epoch in range(first_epoch + 1, args.epochs + 1):
        d_mean, g_mean = RunningMean(), RunningMean()
        start = time.perf_counter()
        bar = progress(loader, desc=f"epoch {epoch}/{args.epochs}", unit="step")
        for real, _ in bar:
            real = real.to(args.device)
            fake = generator(md.randn(args.batch_size, NOISE_SIZE, device=args.device))  # drawn where it is used
            # D: real images -> 1, generated ones -> 0 (detached: this update leaves G alone)
            regularise = args.r1 > 0 and len(steps) % args.r1_every == 0
            real_logits = discriminator(real.requires_grad_(regularise))
            d_loss = (F.binary_cross_entropy_with_logits(real_logits, d_real_labels)
                      + F.binary_cross_entropy_with_logits(discriminator(fake.detach()), fake_labels))
            d_objective = d_loss
            if regularise:   # every r1_every-th step, weighted r1_every times: the same penalty on average
                d_objective = d_loss + (args.r1 / 2 * args.r1_every) * r1_penalty(real_logits, real)
            d_optimizer.zero_grad()
            d_objective.backward()
            d_optimizer.step()
            # G, non-saturating: make the updated D call the generated images real
            g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), real_labels)
            g_optimizer.zero_grad()
            g_loss.backward()
            g_optimizer.step()
            for schedule in schedules.values():
                schedule.step()
            if ema is not None:
                ema.update_parameters(generator)
            row = steps.log(d_loss=d_loss, g_loss=g_loss)
            d_mean.update(row["d_loss"])
            g_mean.update(row["g_loss"])
            bar.set_postfix(d_loss=f"{d_mean.mean:.3f}", g_loss=f"{g_mean.mean:.3f}")
        seconds = time.perf_counter() - start
        sampler = sampling_generator(generator, ema, args.device)
        sampler.eval()
        with md.no_grad():
            grid = sampler(fixed_noise).cpu().numpy()
        sampler.train()
        save_grid(grid, out / f"samples_epoch_{epoch:02d}.png", f"{args.dataset}, epoch {epoch}")
        row = {"epoch": epoch, "d_loss": d_mean.mean, "g_loss": g_mean.mean, "epoch_seconds": seconds}
        if judge is not None:   # a cheap look at progress: 2,000 samples
            count = min(2000, args.judge_samples)
            probabilities, _ = judge_outputs(judge, to_unit_range(generate(sampler, count, args.device)))
            row["score_2k"] = classifier_score(probabilities)
        history.log(**row)
        print(history.summary())
        save_checkpoint(checkpoint, epoch=epoch, **state)

    save_losses(steps, out / "losses.png")
    sampler = sampling_generator(generator, ema, args.device)
    save_grid(generate(sampler, 100, args.device).cpu().numpy(), out / "samples.png",
              f"DCGAN on {args.dataset}: 100 samples after {len(history)} epoch{'s' * (len(history) != 1)}",
              columns=10)
    window = max(1, min(20, len(steps) // 4))
    metrics = {
        "dataset": args.dataset,
        "epochs": len(history),
        "steps": len(steps),
        "d_loss_per_epoch": history["d_loss"],
        "g_loss_per_epoch": history["g_loss"],
        "seconds_per_epoch": history["epoch_seconds"],
        "total_train_seconds": sum(history["epoch_seconds"]),
        # mean losses over the first and the last 20 steps (a quarter of the steps in short runs)
        "first_d_loss": float(np.mean(steps["d_loss"][:window])),
        "last_d_loss": float(np.mean(steps["d_loss"][-window:])),
        "first_g_loss": float(np.mean(steps["g_loss"][:window])),
        "last_g_loss": float(np.mean(steps["g_loss"][-window:])),
    }
    if judge is not None:
        start = time.perf_counter()
        probabilities, fake_features = judge_outputs(judge, to_unit_range(generate(sampler, args.judge_samples,
                                                                                  args.device)))
        test_set = MNIST(args.data_dir, train=False)
        real_count = min(len(test_set), args.judge_samples)
        real_images = md.from_numpy(test_set.get_batch(np.arange(real_count))[0]).to(args.device)
        real_probabilities, real_features = judge_outputs(judge, real_images)
        metrics.update({
            "judge": str(Path(args.judge) / "model.npz"),
            "judge_samples": args.judge_samples,
            "classifier_score": classifier_score(probabilities),
            "classifier_score_real_test_digits": classifier_score(real_probabilities),
            "fid": frechet_distance(fake_features, real_features),
            "class_frequencies": np.bincount(probabilities.argmax(1), minlength=10).tolist(),
            "score_2k_per_epoch": history["score_2k"],
            "judge_seconds": time.perf_counter() - start,
        })
        if ema is not None:   # what the averaging adds: the same judge on the last step's generator
            raw, _ = judge_outputs(judge, to_unit_range(generate(generator, args.judge_samples, args.device)))
            metrics["classifier_score_without_ema"] = classifier_score(raw)
        print(f"classifier score {metrics['classifier_score']:.3f} (real test digits: "
              f"{metrics['classifier_score_real_test_digits']:.3f}), FID {metrics['fid']:.2f} "
              f"over {args.judge_samples:,} generated digits")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"samples, loss curves, metrics and checkpoint in {out}/")
    return metrics


if __name__ == "__main__":
    main()
