"""The GPU side of ``benchmarks/run.py`` (``--device cuda``, ``--pool-steps``), as far as it runs without a GPU.

Stand-ins take the place of CuPy, of a CUDA PyTorch and of the GPU: the argument parsing, the
messages when CuPy or the GPU is missing, the synchronised timing, the GPU branch of ``main`` with
its table, JSON and charts, the memory-pool trace and the peak-memory child all run here on the
CPU. The last test runs the real thing when CuPy sees a GPU.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import minidl as md
from tests.oracle import requires_torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu  # noqa: E402
import run  # noqa: E402
import workloads  # noqa: E402

MIB = 2**20


def _fake_cupy(device_count=1, count_error=None, pool=None, hook_base=object):
    def get_device_count():
        if count_error is not None:
            raise count_error
        return device_count

    runtime = SimpleNamespace(
        getDeviceCount=get_device_count,
        getDeviceProperties=lambda index: {"name": b"NVIDIA H200", "totalGlobalMem": 150_000_000_000,
                                           "major": 9, "minor": 0},
        runtimeGetVersion=lambda: 12040, driverGetVersion=lambda: 12080,
        memGetInfo=lambda: (100 * MIB, 1000 * MIB),
    )
    return SimpleNamespace(__version__="13.6.0", cuda=SimpleNamespace(runtime=runtime, MemoryHook=hook_base),
                           get_default_memory_pool=lambda: pool)


class _Pool:
    """``used_bytes()`` / ``total_bytes()`` as a list of values to return, step after step."""

    def __init__(self, used, total):
        self.used, self.total, self.freed = list(used), list(total), 0

    def used_bytes(self):
        return self.used.pop(0) if len(self.used) > 1 else self.used[0]

    def total_bytes(self):
        return self.total.pop(0) if len(self.total) > 1 else self.total[0]

    def free_all_blocks(self):
        self.freed += 1


# ---- arguments ------------------------------------------------------------------------------------


def test_gpu_defaults_and_cpu_defaults():
    args = run.parse_args(["--device", "cuda"])
    assert args.workload_list == ["W1", "W2", "W3", "W4", "W5", "W5g", "W6"]
    assert args.batch_list == [64, 256] and args.thread_list == [None] and not args.threads_ignored
    assert Path(args.out) == ROOT / "benchmarks" / "results" / "gpu" and args.pool_steps == 0
    cpu = run.parse_args([])
    assert cpu.workload_list == run.DEFAULT_WORKLOADS.split(",") and "W1b16" in cpu.workload_list
    assert cpu.batch_list == [None] and cpu.thread_list == [1, 2] and cpu.device == "cpu"
    assert Path(cpu.out) == ROOT / "benchmarks" / "results"


def test_gpu_flags():
    args = run.parse_args(["--device", "cuda", "--batch-sizes", "32", "--threads", "4", "--workloads", "W1",
                           "--pool-steps", "1000", "--pool-every", "50", "--out", "/tmp/x"])
    assert args.batch_list == [32] and args.thread_list == [None] and args.threads_ignored
    assert (args.pool_steps, args.pool_every, args.out, args.workload_list) == (1000, 50, "/tmp/x", ["W1"])
    assert run.parse_args(["--batch-sizes", "8,16", "--threads", "1"]).batch_list == [8, 16]


@pytest.mark.parametrize("flags, message", [
    (["--pool-steps", "10"], "needs --device cuda"),
    (["--device", "cuda", "--profile"], "measure the CPU engine"),
    (["--device", "cuda", "--gemm"], "measure the CPU engine"),
    (["--device", "cuda", "--batch-sizes", "64,many"], "comma-separated whole numbers"),
    (["--device", "cuda", "--batch-sizes", "0"], ">= 1"),
    (["--device", "cuda", "--pool-every", "0"], "--pool-every >= 1"),
    (["--device", "tpu"], "invalid choice"),
])
def test_rejects_bad_gpu_flags(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        run.parse_args(flags)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


# ---- what is missing ------------------------------------------------------------------------------


def test_without_cupy_the_gpu_run_says_so_without_a_traceback(tmp_path):
    blocker = tmp_path / "blocked"
    blocker.mkdir()
    (blocker / "cupy.py").write_text("raise ImportError('No module named cupy (blocked by the test)')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--device", "cuda",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert "needs CuPy, which is not installed" in done.stderr and "cupy-cuda12x" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("cupy, message", [
    (_fake_cupy(count_error=RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")),
     "cudaErrorNoDevice"),
    (_fake_cupy(device_count=0), "getDeviceCount() = 0"),
])
def test_without_a_gpu_the_message_names_it(cupy, message, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    with pytest.raises(SystemExit) as exit_:
        gpu.require_gpu()
    assert "needs a visible GPU" in str(exit_.value.code) and message in str(exit_.value.code)
    assert "CuPy 13.6.0" in str(exit_.value.code)


def test_a_gpu_that_minidl_cannot_use_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    monkeypatch.setattr(md.cuda, "is_available", lambda: False)

    def unusable():
        raise RuntimeError("CUDA tensors need CuPy and a GPU (CUDARuntimeError: out of memory)")

    monkeypatch.setattr(md.backend, "cupy_module", unusable)
    with pytest.raises(SystemExit) as exit_:
        gpu.require_gpu()
    assert "CuPy sees 1 GPU(s) but minidl cannot use them: CUDA tensors need" in str(exit_.value.code)


def test_why_pytorch_cannot_use_the_gpu():
    cpu_build = SimpleNamespace(__version__="2.13.0+cpu", version=SimpleNamespace(cuda=None),
                                cuda=SimpleNamespace(is_available=lambda: False))
    assert gpu.torch_gpu_problem(None) == "PyTorch not installed"
    assert gpu.torch_gpu_problem(cpu_build) == "PyTorch 2.13.0+cpu has no GPU (a CPU-only build)"
    cuda_build = SimpleNamespace(__version__="2.13.0", version=SimpleNamespace(cuda="12.8"),
                                 cuda=SimpleNamespace(is_available=lambda: False))
    assert "built for CUDA 12.8, but torch.cuda.is_available() is False" in gpu.torch_gpu_problem(cuda_build)
    cuda_build.cuda.is_available = lambda: True
    assert gpu.torch_gpu_problem(cuda_build) is None


def test_gpu_description():
    info = gpu.gpu_info(_fake_cupy(), None)
    assert info["gpu"] == "NVIDIA H200" and info["compute_capability"] == "9.0" and info["gpu_memory_gib"] == 139.7
    assert (info["cupy"], info["cuda_runtime"], info["cuda_driver"]) == ("13.6.0", "12.4", "12.8")
    assert info["torch_cuda"] is None
    line = gpu.describe({**info, "torch": "2.13.0"})
    assert line.startswith("GPU: NVIDIA H200 (139.7 GiB, compute capability 9.0), CUDA driver 12.8, runtime 12.4")
    assert "PyTorch" not in line
    assert "PyTorch 2.13.0 (CUDA 12.8, cuDNN 91000)" in gpu.describe({**info, "torch": "2.13.0", "torch_cuda": "12.8",
                                                                     "torch_cudnn": 91000})


# ---- the workloads on another device -----------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("name", list(workloads.WORKLOADS))
def test_pytorch_side_puts_everything_on_the_device(name):
    """On PyTorch's 'meta' device (shapes without data) a tensor left on the CPU is an error, as on CUDA."""
    work = workloads.build(name, ("torch",), device="meta", batch=8)["torch"]
    loss = work.step()
    assert loss.device.type == "meta" and loss.shape == ()
    output = work.infer()
    assert (output[0] if isinstance(output, tuple) else output).shape[0] == workloads.INFERENCE_BATCH
    assert {p.device.type for model in work.models for p in model.parameters()} == {"meta"}


def test_batch_size_override(monkeypatch):
    sizes, batch = [], workloads._batch
    monkeypatch.setattr(workloads, "_batch", lambda spec, size, seed: sizes.append(size) or batch(spec, size, seed))
    assert workloads.build("W4", ("minidl",), batch=8)["minidl"].step().shape == ()
    workloads.build("W4", ("minidl",))
    assert sizes == [8, workloads.INFERENCE_BATCH, 64, workloads.INFERENCE_BATCH]
    with pytest.raises(ValueError, match="unknown device"):
        workloads.build("W6", ("minidl",), device="tpu")


# ---- timing ---------------------------------------------------------------------------------------


def test_the_clock_is_read_only_after_the_device_is_synchronised():
    events = []
    runs = {"a": lambda: events.append("a"), "b": lambda: events.append("b")}

    def waiting(name):
        def sync():
            time.sleep(0.004)  # the queued GPU work
            events.append(f"sync {name}")
        return sync

    timings = run.time_interleaved(runs, steps=3, warmup=1, block=2, syncs={"a": waiting("a"), "b": waiting("b")})
    assert all(t["median_ms"] >= 4 and t["steps"] == 3 for t in timings.values())
    assert events[:4] == ["a", "sync a", "b", "sync b"]  # warm-up, then wait before the first clock reading
    timed = events[4:]
    for name in "ab":
        positions = [i for i, event in enumerate(timed) if event == name]
        assert len(positions) == 3
        assert all(timed[i - 1] == f"sync {name}" and timed[i + 1] == f"sync {name}" for i in positions)
    assert run.time_interleaved(runs, steps=2, warmup=0, block=1)["a"]["median_ms"] < 4  # no syncs on the CPU


# ---- the GPU branch of main, on the CPU ---------------------------------------------------------


@pytest.fixture
def cpu_as_gpu(monkeypatch):
    """``main(['--device', 'cuda', ...])`` with the workloads built on the CPU and counting stand-ins for the GPU."""
    calls = {"sync": 0, "release": 0, "memory": []}

    def sync():
        calls["sync"] += 1

    def release():
        calls["release"] += 1

    def peak_memory(workload, framework, threads, steps, device, batch):
        calls["memory"].append((workload, framework, threads, device, batch))
        return {"peak_mib": 12.0, "growth_mib": 10.0 if framework == "minidl" else 8.0, "baseline_mib": 2.0}

    def on_cpu(name, frameworks=("minidl", "torch"), seed=0, device="cpu", batch=None):
        assert device == "cuda"
        return workloads.build(name, frameworks, seed=seed, batch=batch)

    monkeypatch.setattr(gpu, "require_gpu", lambda: _fake_cupy())
    monkeypatch.setattr(gpu, "synchronizers", lambda: {"minidl": sync, "torch": sync})
    monkeypatch.setattr(gpu, "release_memory", release)
    monkeypatch.setattr(run, "build", on_cpu)
    monkeypatch.setattr(run, "peak_memory", peak_memory)
    return calls


def test_gpu_run_minidl_alone_when_pytorch_has_no_cuda(cpu_as_gpu, tmp_path, capsys, monkeypatch):
    cpu_build = SimpleNamespace(__version__="2.13.0+cpu", version=SimpleNamespace(cuda=None),
                                cuda=SimpleNamespace(is_available=lambda: False))
    problem = gpu.torch_gpu_problem(cpu_build)
    monkeypatch.setattr(gpu, "torch_gpu_problem", lambda _: problem)
    results = run.main(["--device", "cuda", "--workloads", "W6", "--batch-sizes", "8,16", "--threads", "2",
                        "--steps", "2", "--warmup", "1", "--block", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "PyTorch 2.13.0+cpu has no GPU (a CPU-only build): timing minidl alone" in out
    assert "GPU: NVIDIA H200" in out and "--threads is ignored on the GPU" in out
    assert "W6     b8: minidl" in out and "W6     b16: minidl" in out
    assert not results["with_torch"] and results["device"] == "cuda"
    assert [(r["batch"], r["threads"], set(r["step"])) for r in results["results"]] == [
        (8, None, {"minidl"}), (16, None, {"minidl"})]
    assert results["machine"]["gpu"] == "NVIDIA H200" and "cpu" in results["machine"]
    assert cpu_as_gpu["release"] == 2 and [m[1:] for m in cpu_as_gpu["memory"]] == [
        ("minidl", None, "cuda", 8), ("minidl", None, "cuda", 16)]
    # steps: 1 after warm-up + 2 per timed step; inference: 1 + 2 per timed call (steps // 2 = 1)
    assert cpu_as_gpu["sync"] == 2 * ((1 + 2 * 2) + (1 + 2 * 1))
    assert "peak GPU MiB: peak GPU memory in use" in out and results["memory_measure"] == gpu.MEMORY_MEASURE
    assert "| W6 (mlp, batch 8) | " in (tmp_path / "results.md").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["results"][1]["batch"] == 16
    assert (tmp_path / "results.png").stat().st_size > 0


def test_gpu_run_against_pytorch(cpu_as_gpu, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gpu, "torch_gpu_problem", lambda _: None)
    results = run.main(["--device", "cuda", "--workloads", "W6", "--batch-sizes", "8", "--steps", "2",
                        "--warmup", "1", "--block", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "timing minidl alone" not in out and "--threads is ignored" not in out
    row = results["results"][0]
    assert results["with_torch"] and set(row["step"]) == {"minidl", "torch"} and row["step_ratio"] > 0
    assert row["memory_ratio"] == pytest.approx(10 / 8)
    assert "| workload | minidl step ms | PyTorch step ms |" in out and "PyTorch peak GPU MiB" in out


# ---- writers, given results as a GPU run would make them --------------------------------------


def _gpu_results(with_torch=True):
    def timing(ms):
        return {"median_ms": ms, "q1_ms": ms * 0.9, "q3_ms": ms * 1.1, "steps": 50}

    rows = []
    for name, batch, mine, theirs in [("W1", 64, 3.0, 1.5), ("W1", 256, 4.0, 2.0), ("W4", 64, 9.0, 3.0)]:
        row = {"workload": name, "title": f"{workloads.WORKLOADS[name].name}, batch {batch}", "device": "cuda",
               "threads": None, "batch": batch, "step": {"minidl": timing(mine)}, "infer": {"minidl": timing(mine / 3)},
               "memory": {"minidl": {"peak_mib": 30.0, "growth_mib": 24.0}}}
        if with_torch:
            row["step"]["torch"], row["infer"]["torch"] = timing(theirs), timing(theirs / 3)
            row["memory"]["torch"] = {"peak_mib": 20.0, "growth_mib": 16.0}
            row.update(step_ratio=mine / theirs, infer_ratio=mine / theirs, memory_ratio=1.5)
        rows.append(row)
    machine = {**gpu.gpu_info(_fake_cupy(), None), "cpu": "Intel Xeon", "cpus": 16, "python": "3.11.7",
               "numpy": "2.4.6", "torch": "2.13.0", "torch_cuda": "12.8", "torch_cudnn": 91000,
               "cores_per_socket": "8", "threads_per_core": "2", "blas": []}
    return {"machine": machine, "note": "", "device": "cuda", "with_torch": with_torch,
            "settings": {"steps": 50, "warmup": 10, "block": 5, "memory_steps": 3, "seed": 0},
            "memory_measure": gpu.MEMORY_MEASURE, "results": rows, "profiles": {}, "gemm_gflops": {},
            "date_utc": "2026-01-01 00:00"}


@pytest.mark.parametrize("with_torch", [True, False])
def test_gpu_table_json_and_chart(with_torch, tmp_path, capsys):
    results = _gpu_results(with_torch)
    markdown = run.table(results["results"], with_torch)
    lines = markdown.splitlines()
    assert "threads" not in lines[0] and lines[0].count("|") == lines[1].count("|") == lines[2].count("|")
    assert ("| minidl peak GPU MiB | PyTorch peak GPU MiB | memory ratio |" in lines[0]) == with_torch
    cells = "| 4.00 | 2.00 | 2.00 |" if with_torch else "| 4.00 | 1.33 | 24 |"
    assert lines[3].startswith("| W1 (qd-cnn, batch 256) " + cells)
    run.write_results(results, markdown, tmp_path / "gpu")
    report = (tmp_path / "gpu" / "results.md").read_text()
    assert report.startswith("# Benchmark results on the GPU (2026-01-01 00:00 UTC)")
    assert ("- GPU: NVIDIA H200 (139.7 GiB, compute capability 9.0), CUDA driver 12.8, runtime 12.4, "
            "CuPy 13.6.0") in report
    assert "- Host CPU: Intel Xeon" in report and "torch.cuda.synchronize" in report and markdown in report
    assert "- peak GPU MiB: peak GPU memory in use" in report
    assert json.loads((tmp_path / "gpu" / "results.json").read_text())["machine"]["gpu"] == "NVIDIA H200"
    assert (tmp_path / "gpu" / "results.png").stat().st_size > 1000
    assert run.setting(results["results"][0]) == "b64"
    assert "results.json" in capsys.readouterr().out


def test_cpu_rows_keep_their_labels():
    row = {"workload": "W1", "threads": 2, "batch": 64}
    assert run.setting(row) == "2t" and run.setting({**row, "batch": 32}) == "b32 2t"


# ---- the memory pool over many steps ----------------------------------------------------------


def test_pool_samples_after_syncing():
    pool, events = _Pool(used=[5, 6, 6, 6], total=[8, 9, 9, 9]), []
    samples = gpu.pool_samples(lambda: events.append("step"), pool, lambda: events.append("sync"), steps=25, every=10)
    assert [s["step"] for s in samples] == [1, 10, 20, 25]
    assert [s["used_bytes"] for s in samples] == [5, 6, 6, 6] and [s["total_bytes"] for s in samples] == [8, 9, 9, 9]
    assert events.count("step") == 25 and events.count("sync") == 4 and events[:2] == ["step", "sync"]


def _samples(used, total, every=10):
    return [{"step": max(i * every, 1), "used_bytes": u, "total_bytes": t} for i, (u, t) in enumerate(zip(used, total))]


def test_pool_growth_after_warmup():
    flat = gpu.pool_growth(_samples([1, 5, 5, 5, 5], [2, 8, 8, 8, 8]), warmup=10)
    assert flat["flat"] and flat["baseline_step"] == 10 and flat["total_growth_bytes"] == flat["used_growth_bytes"] == 0
    assert (flat["used_after_warmup_bytes"], flat["total_after_warmup_bytes"]) == (5, 8)
    leak = gpu.pool_growth(_samples([1, 5, 6, 7, 8], [2, 8, 8, 9 * MIB, 10 * MIB]), warmup=10)
    assert not leak["flat"] and leak["used_growth_bytes"] == 3 and leak["total_growth_bytes"] == 10 * MIB - 8
    late = gpu.pool_growth(_samples([1, 5, 6], [2, 8, 9]), warmup=500)  # warm-up longer than the run
    assert late["baseline_step"] == 20 and late["flat"]
    assert "pool size flat" in gpu.pool_line({**flat, "workload": "W1", "batch": 64, "steps": 40})
    assert "pool size GREW by 10.00 MiB" in gpu.pool_line({**leak, "workload": "W1", "batch": 64, "steps": 40})


def test_pool_run_writes_json_and_chart(monkeypatch, tmp_path, capsys):
    pool = _Pool(used=[3 * MIB], total=[4 * MIB])
    monkeypatch.setattr(gpu, "require_gpu", lambda: _fake_cupy())
    monkeypatch.setattr(md.backend, "cupy_module", lambda: SimpleNamespace(get_default_memory_pool=lambda: pool))
    monkeypatch.setattr(md.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(gpu, "torch", None)
    build = workloads.build
    monkeypatch.setattr(workloads, "build", lambda name, frameworks, seed, device, batch: build(
        name, frameworks, seed=seed, batch=batch))
    results = run.main(["--device", "cuda", "--pool-steps", "12", "--pool-every", "5", "--warmup", "5",
                        "--workloads", "W6", "--batch-sizes", "4,8", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert out.count("pool size flat") == 2 and "pool W6 b8, 12 steps" in out
    assert pool.freed == 2  # the pool is emptied before each trace
    saved = json.loads((tmp_path / "pool.json").read_text())
    assert saved == json.loads(json.dumps(results)) and saved["machine"]["gpu"] == "NVIDIA H200"
    assert [[s["step"] for s in trace["samples"]] for trace in saved["pool"]] == [[1, 5, 10, 12]] * 2
    assert (tmp_path / "pool.png").stat().st_size > 1000 and not (tmp_path / "results.json").exists()


# ---- peak GPU memory, in the child process ----------------------------------------------------


def test_memory_child_minidl_reads_the_pool_at_every_allocation(monkeypatch):
    hooks, pool = [], _Pool(used=[0], total=[0])

    class Hook:
        def __enter__(self):
            hooks.append(self)
            return self

        def __exit__(self, *_):
            hooks.remove(self)

    def step():  # a step's temporaries: 7 MiB at the peak, 2 MiB left after it
        for used in (5 * MIB, 7 * MIB, 2 * MIB):
            pool.used = [used]
            for hook in hooks:
                hook.malloc_postprocess(device_id=0, size=used, mem_size=used, mem_ptr=1, pmem_id=1)

    pool.total = [16 * MIB]
    cupy = _fake_cupy(pool=pool, hook_base=Hook)
    monkeypatch.setattr(md.backend, "cupy_module", lambda: cupy)
    monkeypatch.setattr(md.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(md, "zeros", lambda *size, device: None)
    monkeypatch.setattr(workloads, "build", lambda name, frameworks, device, batch: {
        "minidl": SimpleNamespace(step=step)})
    memory = gpu.memory_child("W1", "minidl", 64, steps=2)
    assert memory["peak_mib"] == memory["growth_mib"] == 7 and memory["baseline_mib"] == 0
    assert memory["reserved_mib"] == 16 and memory["device_growth_mib"] == 0 and not hooks


def test_memory_child_torch_reads_the_allocator_peak(monkeypatch):
    state = {"reset": 0, "steps": 0}
    cuda = SimpleNamespace(
        synchronize=lambda: None, reset_peak_memory_stats=lambda: state.update(reset=state["reset"] + 1),
        memory_allocated=lambda: MIB, max_memory_allocated=lambda: 9 * MIB, max_memory_reserved=lambda: 20 * MIB,
        mem_get_info=lambda: (1000 * MIB - 100 * MIB * state["steps"], 1000 * MIB))
    fake_torch = SimpleNamespace(zeros=lambda *size, device: None, cuda=cuda)
    monkeypatch.setattr(gpu, "torch", fake_torch)
    monkeypatch.setattr(workloads, "build", lambda name, frameworks, device, batch: {
        "torch": SimpleNamespace(step=lambda: state.update(steps=1))})
    memory = gpu.memory_child("W1", "torch", 64, steps=3)
    assert state["reset"] == 1 and memory["peak_mib"] == 9 and memory["growth_mib"] == 8
    assert memory["reserved_mib"] == 20 and memory["device_growth_mib"] == 100


# ---- the real thing -------------------------------------------------------------------------------


@pytest.mark.skipif(not md.cuda.is_available(), reason="needs CuPy and a GPU")
def test_on_a_real_gpu(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    script = str(ROOT / "benchmarks" / "run.py")
    done = subprocess.run([sys.executable, script, "--device", "cuda", "--workloads", "W6,W4", "--batch-sizes", "8",
                           "--steps", "2", "--warmup", "1", "--memory-steps", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["machine"]["gpu"] and [r["batch"] for r in results["results"]] == [8, 8]
    assert all(r["memory"]["minidl"]["growth_mib"] > 0 for r in results["results"])
    done = subprocess.run([sys.executable, script, "--device", "cuda", "--workloads", "W6", "--batch-sizes", "8",
                           "--pool-steps", "40", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    trace = json.loads((tmp_path / "pool.json").read_text())["pool"][0]
    assert trace["flat"], trace
