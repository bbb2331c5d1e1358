"""Progress bars for long loops: tqdm when it is installed, a plain periodic line otherwise.

    bar = progress(loader, desc="epoch 1")
    for images, labels in bar:
        ...
        bar.set_postfix(loss=loss.item())

Both kinds show the position, the elapsed time and the throughput (``unit``/s); the values given
to ``set_postfix`` (the loss, an accuracy) are shown next to them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # tqdm is optional (the 'examples' extra)
    _tqdm = None


def progress(
    iterable: Iterable[Any],
    desc: str = "",
    total: int | None = None,
    unit: str = "batch",
    disable: bool = False,
    leave: bool = True,
) -> Any:
    """Wrap ``iterable`` in a progress bar (``tqdm`` if importable, else :class:`PlainProgress`).

    Args:
        iterable: what the loop runs over (a DataLoader, a range).
        desc: a label in front of the bar ("epoch 3").
        total: the number of items, when ``len(iterable)`` does not give it.
        unit: what one item is, for the throughput ("batch" -> "12.3 batch/s").
        disable: no output at all (the loop runs unchanged).
        leave: keep the finished bar on screen.

    The returned object iterates like ``iterable`` and has ``set_postfix(**values)``,
    ``update(n)`` and ``close()``.

    Example::

        bar = progress(loader, desc="epoch 1")
        for x, y in bar:
            bar.set_postfix(loss=train_step(x, y))
    """
    if _tqdm is not None:
        return _tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable, leave=leave, dynamic_ncols=True)
    return PlainProgress(iterable, desc=desc, total=total, unit=unit, disable=disable)


class PlainProgress:
    """A progress report without tqdm: one line every ``interval`` seconds and one at the end.

    ``epoch 1: 120/469 batch [00:04, 28.1 batch/s] loss=0.3124``
    """

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        desc: str = "",
        total: int | None = None,
        unit: str = "it",
        disable: bool = False,
        interval: float = 10.0,
        file: TextIO | None = None,
    ) -> None:
        self.iterable = iterable
        self.desc = desc
        self.total = total if total is not None else _length(iterable)
        self.unit = unit
        self.disable = disable
        self.interval = interval
        self.file = file
        self.count = 0
        self.postfix: dict[str, Any] = {}
        self._start = time.perf_counter()
        self._last_print = self._start
        self._closed = False

    def __iter__(self) -> Iterator[Any]:
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __len__(self) -> int:
        return self.total

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True, **values: Any) -> None:
        """Values shown after the bar (numbers are formatted to 4 significant digits)."""
        self.postfix = {**(ordered_dict or {}), **values}

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.perf_counter()
        if now - self._last_print >= self.interval:
            self._last_print = now
            self._print()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._print()

    def line(self) -> str:
        """The current report: ``desc: count/total unit [mm:ss, rate unit/s] key=value ...``."""
        elapsed = time.perf_counter() - self._start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        position = f"{self.count}/{self.total}" if self.total is not None else str(self.count)
        minutes, seconds = divmod(int(elapsed), 60)
        values = " ".join(f"{key}={_format(value)}" for key, value in self.postfix.items())
        head = f"{self.desc}: " if self.desc else ""
        return f"{head}{position} {self.unit} [{minutes:02d}:{seconds:02d}, {rate:.1f} {self.unit}/s] {values}".rstrip()

    def _print(self) -> None:
        if not self.disable:
            print(self.line(), file=self.file or sys.stderr, flush=True)


def _length(iterable: Any) -> int | None:
    try:
        return len(iterable)
    except TypeError:
        return None


def _format(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
