"""MNIST with nothing but minidl's autograd core: a two-layer network, written out by hand.

No layers, no optimizer classes: the parameters are plain tensors with ``requires_grad=True``,
the loss is written with tensor ops, and the update is a few lines of SGD under ``no_grad``.
It is the whole idea of a deep-learning framework in one screen.

    python examples/mnist_from_scratch.py                 # 5 epochs: 97.8% test accuracy in ~6 s on 2 cores
    python examples/mnist_from_scratch.py --quick         # a few hundred steps on little data

Data: ``minidl.datasets.MNIST`` reads ``$MINIDL_DATA/mnist/`` (``--data-dir`` overrides; with
``--download`` it fetches the files into that folder).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import minidl as md
from minidl.data import DataLoader
from minidl.datasets import MNIST


def init_params(hidden: int) -> list[md.Tensor]:
    """784 -> hidden -> 10, uniform in +-1/sqrt(fan_in) (PyTorch's Linear default)."""
    def uniform(shape: tuple, fan_in: int) -> md.Tensor:
        bound = 1 / math.sqrt(fan_in)
        return (md.rand(*shape) * 2 - 1) * bound

    params = [uniform((784, hidden), 784), uniform((hidden,), 784),
              uniform((hidden, 10), hidden), uniform((10,), hidden)]
    return [p.requires_grad_() for p in params]


def forward(params: list[md.Tensor], images: md.Tensor) -> md.Tensor:
    """images: (B, 1, 28, 28) -> logits (B, 10)."""
    w1, b1, w2, b2 = params
    hidden = (images.reshape(images.shape[0], -1) @ w1 + b1).relu()
    return hidden @ w2 + b2


def cross_entropy(logits: md.Tensor, labels: md.Tensor) -> md.Tensor:
    """Mean negative log-likelihood of the right class, through a stable log-softmax."""
    log_probs = logits.log_softmax(dim=1)
    return -log_probs.gather(1, labels.reshape(-1, 1)).mean()


def accuracy(params: list[md.Tensor], loader: DataLoader) -> float:
    right = total = 0
    with md.no_grad():
        for images, labels in loader:
            right += (forward(params, images).argmax(1) == labels).sum().item()
            total += labels.shape[0]
    return right / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (default $MINIDL_DATA)")
    parser.add_argument("--download", action="store_true", help="fetch missing MNIST files")
    parser.add_argument("--out", default="runs/mnist_from_scratch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny run on 2,000 images (for tests)")
    args = parser.parse_args()

    md.manual_seed(args.seed)
    train_set = MNIST(args.data_dir, train=True, download=args.download)
    test_set = MNIST(args.data_dir, train=False, download=args.download)
    if args.quick:
        args.epochs = 1
        train_set = md.data.Subset(train_set, np.arange(2000))
        test_set = md.data.Subset(test_set, np.arange(500))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=1000)

    params = init_params(args.hidden)
    losses: list[float] = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for step, (images, labels) in enumerate(train_loader):
            loss = cross_entropy(forward(params, images), labels)
            loss.backward()
            with md.no_grad():  # plain SGD: p <- p - lr * dL/dp
                for p in params:
                    p -= args.lr * p.grad
                    p.grad = None
            losses.append(loss.item())
            if step % 200 == 0:
                print(f"epoch {epoch + 1} step {step:4d}  loss {np.mean(losses[-200:]):.4f}")
        print(f"epoch {epoch + 1}: test accuracy {accuracy(params, test_loader):.4f}")

    result = {
        "test_accuracy": accuracy(params, test_loader),
        "first_loss": float(np.mean(losses[:20])),
        "last_loss": float(np.mean(losses[-20:])),
        "seconds": time.perf_counter() - start,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2))
    print(f"test accuracy {result['test_accuracy']:.4f} in {result['seconds']:.1f} s; "
          f"metrics in {out / 'metrics.json'}")


if __name__ == "__main__":
    main()
