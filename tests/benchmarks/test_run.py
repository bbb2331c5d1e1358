"""``benchmarks/run.py`` end to end on a tiny budget, with and without PyTorch, and the profiler.

Also the property the benchmark relies on: a W1 training step is float32 from end to end (every
op's outputs in the forward pass and every gradient in the backward pass).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl as md
from tests.oracle import requires_torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _run(out, *flags):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--steps", "2", "--warmup", "1", "--block", "1",
         "--threads", "1", "--out", str(out), *flags],
        capture_output=True, text=True, timeout=300, env=env,
    )


def _check_files(out, frameworks):
    results = json.loads((out / "results.json").read_text())
    assert {"machine", "settings", "results", "profiles", "gemm_gflops", "with_torch", "note"} <= set(results)
    assert {"cpu", "cpus", "numpy", "torch", "blas"} <= set(results["machine"])
    for row in results["results"]:
        assert {"workload", "threads", "batch", "step", "infer"} <= set(row)
        for kind in ("step", "infer"):
            assert set(row[kind]) == set(frameworks)
            for timing in row[kind].values():
                assert timing["median_ms"] > 0 and timing["q1_ms"] <= timing["q3_ms"]
    assert (out / "results.png").stat().st_size > 0
    assert "| workload |" in (out / "results.md").read_text()
    return results


@requires_torch
def test_compares_with_pytorch_and_measures_memory(tmp_path):
    run = _run(tmp_path, "--workloads", "W6,W1")
    assert run.returncode == 0, run.stderr[-3000:]
    results = _check_files(tmp_path, {"minidl", "torch"})
    assert results["with_torch"] and [r["workload"] for r in results["results"]] == ["W6", "W1"]
    for row in results["results"]:
        assert row["step_ratio"] > 0 and row["infer_ratio"] > 0
        assert set(row["memory"]) == {"minidl", "torch"}
        assert all(m["peak_mib"] >= m["growth_mib"] >= 0 for m in row["memory"].values())
    assert "ratio" in run.stdout


def test_times_minidl_alone_without_pytorch(tmp_path):
    run = _run(tmp_path, "--workloads", "W6", "--no-torch", "--no-memory", "--profile", "--gemm")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "timing minidl alone" in run.stdout
    results = _check_files(tmp_path, {"minidl"})
    assert not results["with_torch"] and "step_ratio" not in results["results"][0]
    profile = results["profiles"]["W6/1"]
    expected = {"linear forward", "linear backward", "optimizer", "autograd & Python overhead"}
    assert expected <= set(profile["categories"])
    assert profile["step_ms"] > 0
    gemm = results["gemm_gflops"]["1"]
    assert "square 1024" in gemm and all(set(rates) == {"numpy"} and rates["numpy"] > 0 for rates in gemm.values())


def test_rejects_an_unknown_workload(tmp_path):
    run = _run(tmp_path, "--workloads", "W9")
    assert run.returncode != 0 and "unknown workload" in run.stderr


def test_a_w1_training_step_stays_float32(monkeypatch):
    from op_profile import _all_ops
    from workloads import build

    dtypes = set()

    def recording(function):
        def recorded(*args, **kwargs):
            result = function(*args, **kwargs)
            for value in result if isinstance(result, tuple) else (result,):
                array = getattr(value, "_data", value)
                if isinstance(array, np.ndarray) and array.dtype.kind in "fc":
                    dtypes.add(array.dtype)
            return result
        return staticmethod(recorded)

    for cls in _all_ops():
        for direction in ("forward", "backward"):
            if direction in cls.__dict__:
                monkeypatch.setattr(cls, direction, recording(cls.__dict__[direction].__func__))
    work = build("W1", ("minidl",))["minidl"]
    work.step()
    work.step()  # the second step also runs Adam on existing state
    assert dtypes == {np.dtype(np.float32)}
    model = work.models[0]
    assert {p.dtype for p in model.parameters()} == {md.float32}
    assert {p.grad.dtype for p in model.parameters()} == {md.float32}
    for state in work.optimizers[0].state.values():
        assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == md.float32


@pytest.mark.parametrize("workload", ["W4", "W5g"])
def test_workloads_build_and_step_without_pytorch(workload):
    from workloads import build

    work = build(workload, ("minidl",))["minidl"]
    loss = work.step()
    assert np.isfinite(loss.item())
    assert work.infer().shape[0] == 256
