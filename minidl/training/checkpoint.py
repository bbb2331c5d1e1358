"""Checkpoints that resume a run exactly: model, optimizer, scheduler, data order, RNG, counters.

One call saves everything a run needs to continue as if it had never stopped::

    loader = ResumableLoader(DataLoader(train_set, batch_size=64, shuffle=True))
    start = {"epoch": 0, "step": 0}
    if path.exists():
        start = load_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader)
    step = start["step"]
    for epoch in range(start["epoch"], epochs):
        for x, y in loader:                      # after a resume: the rest of the interrupted epoch
            ...; step += 1
            if step % 100 == 0:
                save_checkpoint(path, epoch=epoch, step=step, model=model, optimizer=optimizer,
                                scheduler=scheduler, loader=loader)
        scheduler.step()

Inside an epoch, save the epoch in progress (the loader resumes in its middle); between epochs,
save the next one (the loader then starts a fresh epoch). Any object with ``state_dict()`` and
``load_state_dict()`` can be saved by name (a ``History``, an ``EarlyStopping``). ``md.save``
writes the file to a temporary name and renames it over the old checkpoint, so a run killed
while saving leaves the previous checkpoint intact.

What "exactly" covers: minidl's global generator (``md.random``: initialisation, dropout,
augmentation) and the data loader's shuffling generator and position in the epoch; on the
CPU a resumed run then ends bit for bit where an uninterrupted one does. CuPy's generator is not
saved (GPU runs resume statistically, not bit for bit).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import random as md_random
from ..serialization import load, save

FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, *, epoch: int = 0, step: int = 0, **stateful: Any) -> Path:
    """Save ``stateful`` objects (by their ``state_dict()``), the RNG state, ``epoch`` and ``step`` atomically.

    Args:
        path: the checkpoint file (its folder is created).
        epoch, step: the counters the loop resumes from (e.g. the epoch in progress and the
            number of optimizer steps taken).
        **stateful: ``model=...``, ``optimizer=...``, ``scheduler=...``, ``loader=ResumableLoader(...)``,
            or anything else with ``state_dict()``.

    Example:
        >>> import minidl as md
        >>> model = md.nn.Linear(2, 1)
        >>> optimizer = md.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> save_checkpoint("runs/x/last.ckpt", epoch=3, step=1200, model=model, optimizer=optimizer).name
        'last.ckpt'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {
        "format_version": FORMAT_VERSION,
        "epoch": int(epoch),
        "step": int(step),
        "rng": md_random.get_rng_state(),
        "objects": {name: obj.state_dict() for name, obj in stateful.items()},
    }
    save(checkpoint, path)  # atomic: a temporary file renamed over the old checkpoint
    return path


def load_checkpoint(path: str | Path, *, map_location: Any = None, **stateful: Any) -> dict[str, Any]:
    """Restore the objects given by name, and minidl's RNG, from a checkpoint; returns its counters.

    Every object passed must have been saved under the same name. Returns
    ``{'epoch': ..., 'step': ..., 'names': [everything the file holds]}``.

    Example:
        >>> import minidl as md
        >>> model = md.nn.Linear(2, 1)
        >>> optimizer = md.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> path = save_checkpoint("runs/x/last.ckpt", epoch=3, step=1200, model=model, optimizer=optimizer)
        >>> start = load_checkpoint(path, model=model, optimizer=optimizer)   # a new run, same objects rebuilt
        >>> start["epoch"], start["step"], start["names"]
        (3, 1200, ['model', 'optimizer'])
    """
    checkpoint = load(path, map_location=map_location)
    if not isinstance(checkpoint, dict) or "objects" not in checkpoint or "rng" not in checkpoint:
        raise ValueError(f"load_checkpoint: {path} is not a checkpoint written by save_checkpoint")
    saved = checkpoint["objects"]
    missing = [name for name in stateful if name not in saved]
    if missing:
        raise KeyError(
            f"load_checkpoint: {path} holds no state for {missing}; it has {sorted(saved)}. "
            "Pass the objects under the names they were saved with."
        )
    for name, obj in stateful.items():
        obj.load_state_dict(saved[name])
    md_random.set_rng_state(checkpoint["rng"])
    return {"epoch": int(checkpoint["epoch"]), "step": int(checkpoint["step"]), "names": sorted(saved)}


class ResumableLoader:
    """A ``DataLoader`` that knows its position in the current epoch, so a checkpoint can resume mid-epoch.

    Iterate it like the loader. Its ``state_dict()`` holds the shuffling generator's state as it
    was when the current epoch's order was drawn, and how many batches of the epoch were handed
    out; after ``load_state_dict`` the next iteration draws the same order and skips those
    batches without loading them (so random transforms of skipped batches draw nothing).
    Between epochs it records the generator as it is, with no batch done.

    Example:
        >>> from minidl.data import DataLoader, TensorDataset
        >>> def make_loader():
        ...     return ResumableLoader(DataLoader(TensorDataset(np.arange(6)), batch_size=2, shuffle=True, seed=0))
        >>> loader = make_loader()
        >>> for (x,) in loader:
        ...     state = loader.state_dict()    # what save_checkpoint(..., loader=loader) saves; the run dies here
        ...     break
        >>> x
        tensor([3, 2])
        >>> resumed = make_loader()            # a new run builds the same loader, then loads the state
        >>> resumed.load_state_dict(state)
        >>> [x for (x,) in resumed]            # the rest of the interrupted epoch
        [tensor([5, 4]), tensor([0, 1])]
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self._epoch_start_state: str | None = None
        self._batches_done = 0
        self._in_epoch = False
        self._skip = 0

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def dataset(self) -> Any:
        return self.loader.dataset

    def __iter__(self) -> Iterator[Any]:
        self._epoch_start_state = _generator_state(self.loader.generator)
        skip, self._skip = self._skip, 0
        self._batches_done, self._in_epoch = skip, True
        for index, indices in enumerate(self.loader.batch_indices()):
            if index < skip:
                continue
            self._batches_done = index + 1  # counted before the loop body runs, so a checkpoint there includes it
            yield self.loader.fetch(indices)
        self._in_epoch = False

    def state_dict(self) -> dict[str, Any]:
        if self._in_epoch:
            return {"generator": self._epoch_start_state, "batches_done": self._batches_done}
        return {"generator": _generator_state(self.loader.generator), "batches_done": 0}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _set_generator_state(self.loader.generator, state_dict["generator"])
        self._skip = int(state_dict["batches_done"])
        self._in_epoch = False


def _generator_state(generator: np.random.Generator | None) -> str:
    """A generator's state as JSON text ('' for a loader that does not shuffle)."""
    return "" if generator is None else json.dumps(generator.bit_generator.state)


def _set_generator_state(generator: np.random.Generator | None, state: str) -> None:
    if bool(state) != (generator is not None):
        raise ValueError(
            "ResumableLoader.load_state_dict: the saved loader and this one differ in shuffling "
            f"(saved {'with' if state else 'without'} a generator); build the loader as the saved run did"
        )
    if generator is not None:
        generator.bit_generator.state = json.loads(state)
