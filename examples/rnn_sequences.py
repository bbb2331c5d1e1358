"""MNIST read row by row: an LSTM (or a GRU) classifies each image as a sequence of 28 rows.

Workload W5 of the reference set: each 28 x 28 image is a 28-step sequence of 28 pixel values;
an LSTM with 128 hidden units (1 layer, batch_first) reads it, and its last hidden state goes
through Linear(128, 10) to the class scores. Cross-entropy, Adam (lr 1e-3), batches of 64, and
gradient-norm clipping (on by default: recurrent networks are prone to exploding gradients).

    python examples/rnn_sequences.py                    # LSTM, 5 epochs: 98.3% test accuracy, ~10 s/epoch
    python examples/rnn_sequences.py --cell gru         # the same with a GRU
    python examples/rnn_sequences.py --tbptt 7          # truncated backpropagation through time
    python examples/rnn_sequences.py --resume           # continue from runs/rnn_sequences/checkpoint.ckpt
    python examples/rnn_sequences.py --quick            # 125 steps on 8,000 images (for tests)

(Timed on an idle 2-core CPU, seed 0; a 6th epoch gives 98.2%.)

Backpropagation through time (BPTT) runs the gradient back over all 28 steps. With ``--tbptt K``
the sequence is fed in chunks of K rows and the state carried from one chunk to the next is
*detached*: the forward pass is unchanged, but the gradient stops at the chunk boundary, so the
loss at the end reaches only the last K steps. It bounds the cost of long sequences, and limits
how far back the network can learn to look.

Writes into ``--out``: ``metrics.json`` (final test accuracy, per-epoch losses and seconds),
``curves.png`` (loss and accuracy per epoch) and ``checkpoint.ckpt`` (what ``--resume`` reads).
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
from minidl.data import DataLoader, Subset
from minidl.datasets import MNIST
from minidl.training import History, ResumableLoader, RunningMean, load_checkpoint, progress, save_checkpoint
from minidl.training.metrics import correct
from minidl.training.plots import save_curves


class RowClassifier(nn.Module):
    """rows: (B, 28, 28) -> logits (B, 10), from the recurrent layer's last hidden state."""

    def __init__(self, cell: str, rows: int = 28, hidden_size: int = 128, classes: int = 10) -> None:
        super().__init__()
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = recurrent(rows, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, classes)

    def forward(self, rows: md.Tensor, tbptt: int = 0) -> md.Tensor:
        if tbptt <= 0:
            output, _ = self.rnn(rows)
            return self.head(output[:, -1])
        state = None
        for chunk in rows.split(tbptt, dim=1):
            if state is not None:  # truncate: the state's value carries over, its history does not
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            output, state = self.rnn(chunk, state)
        return self.head(output[:, -1])


def as_rows(images: md.Tensor, device: str) -> md.Tensor:
    """(B, 1, 28, 28) images -> (B, 28, 28): 28 time steps of 28 features."""
    return images.reshape(images.shape[0], 28, 28).to(device)


def evaluate(model: RowClassifier, loader: DataLoader, device: str) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over ``loader``."""
    model.eval()
    loss, right, seen = RunningMean(), 0, 0
    with md.no_grad():
        for images, labels in loader:
            labels = labels.to(device)
            logits = model(as_rows(images, device))
            loss.update(F.cross_entropy(logits, labels).item(), len(labels))
            right += correct(logits, labels)
            seen += len(labels)
    model.train()
    return loss.mean, right / seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--epochs", type=int, default=None, help="default 5 (1 with --quick)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm (0: no clipping)")
    parser.add_argument("--tbptt", type=int, default=0, help="truncated BPTT chunk length in rows (0: full BPTT)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/ (default $MINIDL_DATA)")
    parser.add_argument("--out", default="runs/rnn_sequences/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--quick", action="store_true", help="8,000 training images, 1 epoch by default (for tests)")
    args = parser.parse_args()

    md.manual_seed(args.seed)
    train_set = MNIST(args.data_dir, train=True)
    test_set = MNIST(args.data_dir, train=False)
    if args.epochs is None:
        args.epochs = 1 if args.quick else 5
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.quick:
        train_set, test_set = Subset(train_set, np.arange(8000)), Subset(test_set, np.arange(1000))
    train_loader = ResumableLoader(DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed))
    test_loader = DataLoader(test_set, batch_size=1000)

    model = RowClassifier(args.cell).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    history = History()
    batch_losses: list[float] = []
    out = Path(args.out)
    checkpoint = out / "checkpoint.ckpt"
    first_epoch = 0
    if args.resume and checkpoint.exists():
        first_epoch = load_checkpoint(checkpoint, model=model, optimizer=optimizer, loader=train_loader,
                                      history=history)["epoch"]
        print(f"resumed from {checkpoint} after epoch {first_epoch}")
        if first_epoch >= args.epochs:
            print(f"nothing to train: the checkpoint already holds {first_epoch} epochs (raise --epochs)")
    print(f"{args.cell.upper()} on MNIST rows: {sum(p.numel() for p in model.parameters()):,} parameters")

    for epoch in range(first_epoch + 1, args.epochs + 1):
        train_loss = RunningMean()
        start = time.perf_counter()
        bar = progress(train_loader, desc=f"epoch {epoch}/{args.epochs}")
        for images, labels in bar:
            loss = F.cross_entropy(model(as_rows(images, args.device), args.tbptt), labels.to(args.device))
            optimizer.zero_grad()
            loss.backward()
            if args.clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            batch_losses.append(loss.item())
            train_loss.update(batch_losses[-1], len(labels))
            bar.set_postfix(loss=f"{train_loss.mean:.4f}")
        seconds = time.perf_counter() - start
        test_loss, test_accuracy = evaluate(model, test_loader, args.device)
        history.log(epoch=epoch, train_loss=train_loss.mean, test_loss=test_loss, test_accuracy=test_accuracy,
                    epoch_seconds=seconds)
        print(history.summary())
        save_checkpoint(checkpoint, epoch=epoch, model=model, optimizer=optimizer, loader=train_loader,
                        history=history)

    save_curves(history, out / "curves.png", metrics=["train_loss", "test_loss", "test_accuracy"],
                title=f"{args.cell.upper()} on MNIST rows" + (f", truncated BPTT {args.tbptt}" if args.tbptt else ""))
    metrics = {
        "cell": args.cell,
        "tbptt": args.tbptt,
        "test_accuracy": history["test_accuracy"][-1],
        "train_loss_per_epoch": history["train_loss"],
        "test_loss_per_epoch": history["test_loss"],
        "seconds_per_epoch": history["epoch_seconds"],
        # this run's mean loss over its first and its last 20 batches
        "first_loss": float(np.mean(batch_losses[:20])) if batch_losses else None,
        "last_loss": float(np.mean(batch_losses[-20:])) if batch_losses else None,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"test accuracy {metrics['test_accuracy']:.4f}; metrics, curves and checkpoint in {out}/")


if __name__ == "__main__":
    main()
