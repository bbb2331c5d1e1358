"""Training curves as a PNG (matplotlib, imported only when a figure is drawn)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .history import History

_SPLITS = ("train_", "val_", "valid_", "validation_", "test_")


def require_matplotlib() -> Any:
    """``matplotlib.figure.Figure``, or an ImportError saying how to install matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "drawing figures needs matplotlib, an optional dependency of minidl: "
            "pip install matplotlib (or pip install 'minidl[examples]')"
        ) from error
    return Figure


def metric_panels(keys: Sequence[str]) -> dict[str, list[str]]:
    """Group metric names into panels by what they measure: ``train_loss`` and ``val_loss`` share
    the ``loss`` panel, ``val_accuracy`` goes to ``accuracy``; ``epoch`` is the x axis, not a panel."""
    panels: dict[str, list[str]] = {}
    for key in keys:
        if key == "epoch":
            continue
        quantity = next((key[len(split):] for split in _SPLITS if key.startswith(split)), key)
        panels.setdefault(quantity, []).append(key)
    return panels


def save_curves(history: History, path: str | Path, metrics: Sequence[str] | None = None,
                title: str | None = None) -> Path:
    """Draw the metrics of ``history`` against the epoch, one panel per quantity, into a PNG.

    Args:
        history: the run's :class:`History`.
        path: where to write the PNG (folders are created).
        metrics: the metric names to draw (default: all of them).
        title: a title over the panels.

    Example::

        save_curves(history, "runs/mnist/curves.png")     # loss panel, accuracy panel, ...
    """
    Figure = require_matplotlib()
    panels = metric_panels(metrics if metrics is not None else history.keys())
    if not panels:
        raise ValueError("save_curves: the history holds no metric to draw; log some with history.log(...)")
    figure = Figure(figsize=(4.5 * len(panels), 3.6), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (quantity, keys) in zip(axes, panels.items()):
        for key in keys:
            ax.plot(history.steps(key), history[key], marker="o" if len(history[key]) < 30 else None,
                    markersize=3, label=key)
        ax.set_xlabel("epoch" if "epoch" in history else "step")
        ax.set_ylabel(quantity)
        values = [value for key in keys for value in history[key]]
        if min(values) > 0 and max(values) / min(values) > 20:  # spans decades: a log axis shows the tail
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        figure.suptitle(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
