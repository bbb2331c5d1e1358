"""md.save / md.load: round trips of nested state, atomic writes, and refusal of pickles,
object arrays, truncated and foreign files."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

import minidl as md
import minidl.nn as nn
from minidl.serialization import SerializationError


def _nested():
    return {
        "model": nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).state_dict(),
        "optimizer": {"state": {0: {"step": md.tensor(3.0), "exp_avg": md.randn(4, 3)}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False,
                                        "foreach": None, "name": "group"}]},
        "epoch": 7, "loss": float("nan"), "big": 2**80, "array": np.arange(6, dtype=np.int16).reshape(2, 3),
        "scalar": np.float32(1.5), "half": md.ones(2, dtype=md.float16), "flags": md.tensor([True, False]),
        "empty": md.zeros(0, 3), "nested": [[1, [2.5, "x"]], ()],
    }


def _assert_same(a, b):
    assert type(a) is type(b) or type(a) is dict and isinstance(b, dict), (a, b)  # OrderedDict loads as dict
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, md.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_of_nested_state(tmp_path):
    obj = _nested()
    md.save(obj, tmp_path / "state.npz")
    _assert_same(md.load(tmp_path / "state.npz"), obj)
    md.save(obj, str(tmp_path / "state.pt"))  # any name: nothing is appended
    assert (tmp_path / "state.pt").exists() and not (tmp_path / "state.pt.npz").exists()


def test_round_trip_through_a_file_object(tmp_path):
    with open(tmp_path / "f.bin", "wb") as file:
        md.save({"w": md.randn(2, 2)}, file)
    with open(tmp_path / "f.bin", "rb") as file:
        assert md.load(file)["w"].shape == (2, 2)


def test_model_round_trip_gives_the_same_outputs(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    model(md.randn(16, 4))
    model.eval()
    md.save(model.state_dict(), tmp_path / "model.npz")
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2)).eval()
    other.load_state_dict(md.load(tmp_path / "model.npz"))
    x = md.randn(5, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())


def test_parameters_and_shared_tensors_are_restored(tmp_path):
    weight = nn.Parameter(md.randn(2))
    md.save({"a": weight, "b": weight, "c": [weight]}, tmp_path / "p.npz")
    loaded = md.load(tmp_path / "p.npz")
    assert isinstance(loaded["a"], nn.Parameter) and loaded["a"].requires_grad
    assert loaded["a"] is loaded["b"] is loaded["c"][0]


def test_format_is_a_plain_npz_with_a_json_manifest(tmp_path):
    md.save({"w": md.ones(2), "n": 3}, tmp_path / "x.npz")
    with np.load(tmp_path / "x.npz", allow_pickle=False) as archive:
        manifest = json.loads(archive["__manifest__"].tobytes().decode())
        assert manifest["format"] == "minidl" and manifest["version"] == 1
        key = manifest["root"]["items"][0][1]["key"]
        np.testing.assert_array_equal(archive[key], np.ones(2, dtype=np.float32))


def test_map_location(tmp_path):
    md.save({"w": md.ones(2)}, tmp_path / "x.npz")
    assert md.load(tmp_path / "x.npz", map_location="cpu")["w"].device == "cpu"
    if md.cuda.is_available():
        moved = md.load(tmp_path / "x.npz", map_location="cuda")["w"]
        assert moved.is_cuda
        md.save({"w": moved}, tmp_path / "gpu.npz")
        assert md.load(tmp_path / "gpu.npz")["w"].is_cuda
        assert md.load(tmp_path / "gpu.npz", map_location="cpu")["w"].device == "cpu"


def test_unsupported_values_are_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['f'\] of type function"):
        md.save({"f": lambda: 0}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype object"):
        md.save({"a": np.array([{}], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="save a module's state_dict"):
        md.save(nn.Linear(1, 1), tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_crash_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    md.save({"version": 1}, path)
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        md.save({"version": 2}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]
    monkeypatch.undo()
    assert md.load(path) == {"version": 1}


def test_write_is_fsynced_then_renamed(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: calls.append(("replace", os.path.dirname(a))) or real_replace(a, b))
    md.save({"x": 1}, tmp_path / "a.npz")
    assert calls[0] == "fsync" and calls[1] == ("replace", str(tmp_path))


def _write_manifest_archive(path, arrays, allow_pickle_entry=None):
    manifest = {"format": "minidl", "version": 1, "root": {"type": "dict", "items": [["a", {"type": "ndarray",
                                                                                            "key": "a0"}]]}}
    arrays = dict(arrays, __manifest__=np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8))
    np.savez(path, **arrays)


def test_pickle_bearing_archive_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    _write_manifest_archive(path, {"a0": np.array([{"payload": 1}], dtype=object)})
    with pytest.raises(SerializationError, match=r"evil\.npz holds object arrays .*refuses"):
        md.load(path)


def test_foreign_and_damaged_files_raise_errors_naming_the_file(tmp_path):
    good = tmp_path / "good.npz"
    md.save({"w": md.randn(50, 50)}, good)
    data = good.read_bytes()
    cases = {
        "truncated.npz": data[: len(data) // 2],
        "header-only.npz": data[:10],
        "random.bin": np.random.default_rng(0).bytes(1000),
        "empty.npz": b"",
        "array.npy": None,
        "plain.npz": None,
    }
    np.save(tmp_path / "array.npy", np.arange(3))
    np.savez(tmp_path / "plain.npz", x=np.arange(3))
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(SerializationError, match=name.replace(".", r"\.")):
            md.load(tmp_path / name)


def test_a_zip_with_a_foreign_manifest_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__manifest__.npy", b"not an npy")
    with pytest.raises(SerializationError, match="other.npz"):
        md.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        md.load(tmp_path / "absent.npz")


def test_saved_file_gets_the_mode_of_a_normal_new_file(tmp_path):
    md.save({"w": md.ones(2)}, tmp_path / "ckpt.npz")
    (tmp_path / "plain").write_bytes(b"")
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
