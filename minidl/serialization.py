"""``md.save`` / ``md.load``: state dicts and checkpoints in a plain NumPy ``.npz`` file.

The format (version 1) is an uncompressed ``.npz`` archive (a zip of ``.npy`` files, as written
by ``numpy.savez``) holding:

- ``__manifest__``: a uint8 array, the UTF-8 bytes of a JSON document
  ``{"format": "minidl", "version": 1, "root": NODE}`` describing the saved object;
- ``a0``, ``a1``, ...: one ``.npy`` entry per tensor or array, in its own dtype.

A NODE is one of:

- a JSON string, number, ``true``/``false`` or ``null``: that Python value;
- ``{"type": "dict", "items": [[KEY, NODE], ...]}``: a dict in insertion order (KEY is a string,
  an int, a float, a bool or null, so an optimizer's ``{0: {...}}`` round-trips);
- ``{"type": "list", "items": [NODE, ...]}`` and ``{"type": "tuple", "items": [...]}``;
- ``{"type": "tensor", "key": "a0", "device": "cpu", "requires_grad": false, "parameter": false}``;
- ``{"type": "ndarray", "key": "a1"}`` and ``{"type": "numpy_scalar", "key": "a2"}``.

A tensor saved twice (the same object) is stored once and loads as one shared tensor.

Safety: loading reads the archive with ``numpy.load(..., allow_pickle=False)`` and parses the
manifest as JSON, so a file can never run code; object arrays are refused when saving and
loading. Writing to a path is atomic: the archive goes to a temporary file in the same folder,
is flushed and fsynced, then renamed over the target with ``os.replace``, so a crash leaves
either the old file or the new one, never half of one. A truncated, corrupt or foreign file
raises an error that names the file.

    md.save(model.state_dict(), "model.npz")
    model.load_state_dict(md.load("model.npz", map_location="cpu"))
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .backend import Device, as_device, device_of, to_device
from .tensor import Tensor

FORMAT = "minidl"
FORMAT_VERSION = 1
MANIFEST = "__manifest__"
_ARRAY_KINDS = "biufcUS"  # bool, ints, floats, complex, strings: everything .npy holds without pickle
_KEY_TYPES = (str, int, float, bool, type(None))
_ZIP_MAGIC = b"PK\x03\x04"


class SerializationError(RuntimeError):
    """A file that ``md.load`` cannot read: truncated, corrupt, or not written by ``md.save``."""

# Read once at import (reading it means setting it, which is not thread-safe): the mode that
# open() would give a new file, for the checkpoint that mkstemp created as 0600.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Save ``obj`` (nested dicts, lists and tuples of tensors, arrays, numbers, strings, None).

    f: a path (written atomically: temporary file, fsync, rename) or a binary file object.

    Example:
        >>> import minidl as md
        >>> model = md.nn.Linear(2, 1)
        >>> md.save({"model": model.state_dict(), "epoch": 3}, "checkpoint.npz")
    """
    arrays: dict[str, np.ndarray] = {}
    root = _encode(obj, arrays, {}, "obj")
    manifest = json.dumps({"format": FORMAT, "version": FORMAT_VERSION, "root": root})
    arrays[MANIFEST] = np.frombuffer(manifest.encode("utf-8"), dtype=np.uint8)
    if not isinstance(f, (str, os.PathLike)):
        np.savez(f, **arrays)
        return
    path = Path(f)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes it 0600; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders can't be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _encode(value: Any, arrays: dict, stored: dict, where: str) -> Any:
    """The manifest node of ``value``; tensors and arrays are added to ``arrays``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Tensor):
        if id(value) not in stored:
            array = _host_array(value._data, where)
            stored[id(value)] = _store(array, arrays)
        return {
            "type": "tensor", "key": stored[id(value)], "device": str(value.device),
            "requires_grad": value.requires_grad, "parameter": type(value).__name__ == "Parameter",
        }
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "key": _store(_host_array(value, where), arrays)}
    if isinstance(value, np.generic):
        return {"type": "numpy_scalar", "key": _store(_host_array(np.asarray(value), where), arrays)}
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, _KEY_TYPES):
                raise TypeError(
                    f"md.save: {where} has a key of type {type(key).__name__}; keys must be str, int, float, "
                    "bool or None"
                )
            items.append([key, _encode(item, arrays, stored, f"{where}[{key!r}]")])
        return {"type": "dict", "items": items}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"type": kind, "items": [_encode(v, arrays, stored, f"{where}[{i}]") for i, v in enumerate(value)]}
    if hasattr(value, "get") and hasattr(value, "dtype") and hasattr(value, "shape"):  # a CuPy array
        return {"type": "ndarray", "key": _store(_host_array(value, where), arrays)}
    raise TypeError(
        f"md.save: can't save {where} of type {type(value).__name__}; md.save stores tensors, NumPy arrays, "
        "numbers, strings, None and dicts/lists/tuples of them (save a module's state_dict(), not the module)"
    )


def _host_array(array: Any, where: str) -> np.ndarray:
    host = array if isinstance(array, np.ndarray) else array.get()
    if host.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(
            f"md.save: {where} is an array of dtype {host.dtype}, which can't be stored without pickle; "
            "convert it to a numeric array first"
        )
    return host


def _store(array: np.ndarray, arrays: dict) -> str:
    key = f"a{len(arrays)}"
    arrays[key] = array
    return key


def load(f: str | os.PathLike | BinaryIO, map_location: str | Device | None = None) -> Any:
    """Load an object written by ``md.save``; tensors go to ``map_location`` (default: where they were saved).

    Never unpickles: a file can't run code. Raises ``SerializationError`` naming the file when it
    is truncated, corrupt or not a minidl file.

    Example:
        >>> import minidl as md
        >>> md.save({"weights": md.ones(2), "epoch": 3}, "checkpoint.npz")
        >>> md.load("checkpoint.npz", map_location="cpu")
        {'weights': tensor([1., 1.]), 'epoch': 3}
    """
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as file:
            return _load_from(file, os.fspath(f), map_location)
    return _load_from(f, getattr(f, "name", "<file object>"), map_location)


def _load_from(file: BinaryIO, name: str, map_location: str | Device | None) -> Any:
    device = None if map_location is None else as_device(map_location)
    start = file.tell()
    magic = file.read(len(_ZIP_MAGIC))
    file.seek(start)
    if magic != _ZIP_MAGIC:
        what = "empty" if not magic else "a single .npy array" if magic == b"\x93NUM" else "not an .npz archive"
        raise SerializationError(f"md.load: {name} is {what}, so not a file written by md.save")
    try:
        with np.load(file, allow_pickle=False) as archive:
            if MANIFEST not in archive.files:
                raise SerializationError(
                    f"md.load: {name} is a zip/.npz archive but not one written by md.save (it has no "
                    f"{MANIFEST} entry); read a plain .npz with np.load(path, allow_pickle=False)"
                )
            manifest = _read_manifest(archive[MANIFEST], name)
            arrays = {key: archive[key] for key in archive.files if key != MANIFEST}
            foreign = [key for key, value in arrays.items() if not isinstance(value, np.ndarray)]
            if foreign:
                raise SerializationError(f"md.load: {name} is corrupt: entries {foreign} are not .npy arrays")
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise SerializationError(
                f"md.load: {name} holds object arrays (pickled data), which md.load refuses to read: "
                "unpickling can run code"
            ) from error
        raise SerializationError(f"md.load: {name} is corrupt ({error})") from error
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise SerializationError(
            f"md.load: {name} is truncated or corrupt ({type(error).__name__}: {error}); "
            "if it is a checkpoint, the run that wrote it may have been interrupted"
        ) from error
    return _decode(manifest["root"], arrays, device, {}, name)


def _read_manifest(raw: Any, name: str) -> dict:
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8:
        raise SerializationError(f"md.load: {name} has a {MANIFEST} entry that is not minidl's (not a uint8 array)")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SerializationError(f"md.load: {name} has an unreadable manifest ({error})") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or "root" not in manifest:
        raise SerializationError(f"md.load: {name} has a {MANIFEST} entry that is not minidl's")
    if manifest.get("version") != FORMAT_VERSION:
        raise SerializationError(
            f"md.load: {name} is format version {manifest.get('version')}, this minidl reads version "
            f"{FORMAT_VERSION}; upgrade minidl"
        )
    return manifest


def _decode(node: Any, arrays: dict, device: Device | None, loaded: dict, name: str) -> Any:
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    if kind == "dict":
        return {key: _decode(item, arrays, device, loaded, name) for key, item in node["items"]}
    if kind == "list":
        return [_decode(item, arrays, device, loaded, name) for item in node["items"]]
    if kind == "tuple":
        return tuple(_decode(item, arrays, device, loaded, name) for item in node["items"])
    if kind in ("tensor", "ndarray", "numpy_scalar"):
        key = node.get("key")
        if key not in arrays:
            raise SerializationError(f"md.load: {name} is corrupt: its manifest names an array {key!r} it lacks")
        array = arrays[key]
        if kind == "ndarray":
            return array
        if kind == "numpy_scalar":
            return array[()]
        if key not in loaded:
            loaded[key] = _tensor(array, node, device)
        return loaded[key]
    raise SerializationError(f"md.load: {name} is corrupt: unknown manifest node {node!r:.80}")


def _tensor(array: np.ndarray, node: dict, device: Device | None) -> Tensor:
    target = as_device(node.get("device", "cpu")) if device is None else device
    data = to_device(array, target) if target != device_of(array) else array
    if node.get("parameter"):
        from .nn.parameter import Parameter

        return Parameter(Tensor._make(data), requires_grad=bool(node.get("requires_grad")))
    tensor = Tensor._make(data)
    if node.get("requires_grad"):
        tensor.requires_grad_(True)
    return tensor
