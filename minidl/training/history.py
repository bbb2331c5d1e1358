"""``History``: the metrics of a run, one row per epoch (or per evaluation), kept for curves and checkpoints."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..tensor import Tensor


class History:
    """A table of metrics: ``log`` appends a row; ``history['val_loss']`` is a column.

    Rows may hold different keys (a validation metric every few epochs); a column lists the
    values of the rows that have it, and :meth:`steps` the matching ``epoch`` (or row number).

    Example:
        >>> history = History()
        >>> _ = history.log(epoch=1, train_loss=0.52, val_loss=0.47, val_accuracy=0.86)
        >>> _ = history.log(epoch=2, train_loss=0.31, val_loss=0.49, val_accuracy=0.88)
        >>> history["val_loss"], history.best("val_loss"), history.best("val_accuracy", mode="max")
        ([0.47, 0.49], (1.0, 0.47), (2.0, 0.88))
        >>> print(history.summary())          # the last row
        epoch 2: train_loss 0.31  val_loss 0.49  val_accuracy 0.88
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def log(self, **values: float | Tensor) -> dict[str, float]:
        """Append one row (Tensors are turned into floats); returns it."""
        row = {key: float(value.item()) if isinstance(value, Tensor) else float(value) for key, value in values.items()}
        self.rows.append(row)
        return row

    def __getitem__(self, key: str) -> list[float]:
        column = [row[key] for row in self.rows if key in row]
        if not column:
            raise KeyError(f"History has no metric {key!r}; it has {sorted(self.keys())}")
        return column

    def __contains__(self, key: str) -> bool:
        return any(key in row for row in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def keys(self) -> list[str]:
        """Every metric name, in the order they first appeared."""
        return list(dict.fromkeys(key for row in self.rows for key in row))

    def steps(self, key: str) -> list[float]:
        """The x values of column ``key``: each row's ``epoch`` if it has one, else its 1-based number."""
        return [row.get("epoch", number) for number, row in enumerate(self.rows, 1) if key in row]

    def best(self, key: str, mode: str = "min") -> tuple[float, float]:
        """``(step, value)`` of the best value of ``key`` (``mode`` ``'min'`` or ``'max'``)."""
        if mode not in ("min", "max"):
            raise ValueError(f"History.best: mode must be 'min' or 'max', got {mode!r}")
        pairs = [(step, value) for step, value in zip(self.steps(key), self[key]) if not math.isnan(value)]
        if not pairs:
            raise ValueError(f"History.best: {key!r} has only nan values")
        pick = min if mode == "min" else max
        return pick(pairs, key=lambda pair: pair[1])

    def summary(self, row: int = -1) -> str:
        """One row as text: ``epoch 3: train_loss 0.1234  val_accuracy 0.9812``."""
        values = dict(self.rows[row])
        head = f"epoch {values.pop('epoch'):g}: " if "epoch" in values else ""
        return head + "  ".join(f"{key} {value:.4g}" for key, value in values.items())

    def state_dict(self) -> dict[str, Any]:
        return {"rows": [dict(row) for row in self.rows]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = [{key: float(value) for key, value in row.items()} for row in state_dict["rows"]]

    def save_json(self, path: str | Path) -> Path:
        """Write the rows as a JSON list of objects; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.rows, indent=1) + "\n")
        return path
