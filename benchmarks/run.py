"""minidl against PyTorch on the reference workloads W1-W6: training step time, inference, peak memory.

For each workload of ``WORKLOADS.md`` both frameworks build the same model (``minidl.models`` and
its PyTorch twin) with the same initial weights, on the same random batch, in this one process.
A training step (forward + loss + backward + optimizer) is timed as the median of ``--steps`` steps
after ``--warmup`` warm-ups; the two frameworks alternate in blocks of ``--block`` steps, so a
machine that gets busier or quieter during the run affects both alike. Inference is the forward
pass alone at batch 256 (eval mode, no graph). Peak memory is measured in a fresh subprocess per
framework (the resident-set growth over the process's size before the model is built), so one
framework's allocations cannot hide the other's. NumPy's BLAS (threadpoolctl) and PyTorch
(``set_num_threads``) get the same number of threads.

With ``--device cuda`` the models and batches live on the GPU (minidl on CuPy, PyTorch on CUDA), at
batch 64 and 256 (``--batch-sizes``); each framework's queued GPU work is waited for before the clock
is read, peak memory is the GPU memory in use (``gpu.py``), and ``--threads`` is ignored.
``--pool-steps N`` instead trains minidl N steps and traces CuPy's memory pool (``pool.json``/``.png``).

    python benchmarks/run.py                                   # all workloads, 1 and 2 threads
    python benchmarks/run.py --workloads W1,W3 --threads 1     # a subset
    python benchmarks/run.py --workloads W1 --profile          # where minidl's step time goes
    python benchmarks/run.py --steps 5 --warmup 1 --no-memory  # a quick look
    python benchmarks/run.py --blas-kernel auto                # NumPy's OpenBLAS on AVX-512 kernels
    python benchmarks/run.py --gemm                            # + float32 GEMM throughput, NumPy and PyTorch
    python benchmarks/run.py --device cuda                     # on the GPU, batch 64 and 256
    python benchmarks/run.py --device cuda --pool-steps 1000 --workloads W1   # CuPy's pool over 1,000 steps

Writes ``results.json``, ``results.png`` (bar chart) and ``results.md`` (table and machine) under
``--out`` (default ``benchmarks/results``, ``benchmarks/results/gpu`` on the GPU). Without PyTorch (or
with ``--no-torch``, or on the GPU with a CPU-only PyTorch) minidl is timed alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable


def _choose_openblas_kernel(argv: list[str]) -> str | None:
    """Apply ``--blas-kernel`` to OpenBLAS (it must be chosen before NumPy loads); the kernel name.

    OpenBLAS picks its GEMM kernels from the CPU model, or from ``OPENBLAS_CORETYPE``. ``env`` (the
    default) keeps what the environment says; ``auto`` asks for the AVX-512 kernels (``SkylakeX``)
    where the CPU has AVX-512, which doubles single-precision GEMM speed on a CPU that OpenBLAS
    does not know or that the environment pins to ``Haswell`` (AVX2); any other value is a core
    type for OpenBLAS. The subprocesses that measure memory inherit the choice.
    """
    choice = "env"
    for i, arg in enumerate(argv):
        if arg == "--blas-kernel" and i + 1 < len(argv):
            choice = argv[i + 1]
        elif arg.startswith("--blas-kernel="):
            choice = arg.split("=", 1)[1]
    if choice == "auto":
        try:
            flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
            if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= set(flags.split()):
                os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
        except (OSError, StopIteration):
            pass
    elif choice != "env":
        os.environ["OPENBLAS_CORETYPE"] = choice
    return os.environ.get("OPENBLAS_CORETYPE")


OPENBLAS_KERNEL = _choose_openblas_kernel(sys.argv)

import numpy as np  # noqa: E402 (after the BLAS kernel choice)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import gpu  # noqa: E402
from workloads import WORKLOADS, build  # noqa: E402

import minidl as md  # noqa: E402

try:
    import torch
except ImportError:
    torch = None
try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:
    threadpool_info = threadpool_limits = None

DEFAULT_WORKLOADS = "W1,W1b16,W2,W3,W4,W5,W5g,W6"
GPU_WORKLOADS = "W1,W2,W3,W4,W5,W5g,W6"  # W1b16 is W1 at batch 16: on the GPU, --batch-sizes does that
GPU_BATCH_SIZES = "64,256"


# ---- threads and the machine ----------------------------------------------------------------------


def set_threads(threads: int) -> Any:
    """Pin both frameworks to ``threads``; returns the threadpoolctl limiter (keep it alive)."""
    limiter = threadpool_limits(limits=threads) if threadpool_limits is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    setter = getattr(md, "set_num_threads", None)
    if setter is not None:
        setter(threads)
    return limiter


def machine() -> dict[str, Any]:
    """CPU model and cores (``lscpu``), Python, NumPy and its BLAS, PyTorch."""
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                            "OPENBLAS_CORETYPE": OPENBLAS_KERNEL,
                            "torch": torch.__version__ if torch is not None else None,
                            "cpus": os.cpu_count(), "platform": platform.platform()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        info["cpu"] = fields.get("Model name")
        info["cores_per_socket"] = fields.get("Core(s) per socket")
        info["threads_per_core"] = fields.get("Thread(s) per core")
        info["cpu_flags_avx512"] = "avx512f" in fields.get("Flags", "")
    except (OSError, subprocess.SubprocessError):
        info["cpu"] = platform.processor() or platform.machine()
    if threadpool_info is not None:
        info["blas"] = [{k: pool.get(k) for k in ("internal_api", "version", "threading_layer", "architecture",
                                                  "num_threads", "filepath")}
                        for pool in threadpool_info() if pool.get("user_api") == "blas"]
    try:
        import numba  # noqa: PLC0415
        info["numba"] = numba.__version__
    except ImportError:
        info["numba"] = None
    return info


# ---- timing ---------------------------------------------------------------------------------------


def time_interleaved(runs: dict[str, Callable[[], Any]], steps: int, warmup: int, block: int,
                     syncs: dict[str, Callable[[], Any]] | None = None) -> dict[str, dict]:
    """Median and quartiles (ms) of each run, the runs alternating in blocks of ``block`` calls.

    ``syncs``: per run, a call that waits for the device's queued work (``torch.cuda.synchronize``),
    made before each reading of the clock, so a step's time includes its GPU kernels."""
    syncs = syncs or {}
    for name, run in runs.items():
        for _ in range(warmup):
            run()
        syncs.get(name, _nothing)()
    samples: dict[str, list[float]] = {name: [] for name in runs}
    while any(len(s) < steps for s in samples.values()):
        for name, run in runs.items():
            sync = syncs.get(name, _nothing)
            for _ in range(min(block, steps - len(samples[name]))):
                sync()
                start = time.perf_counter()
                run()
                sync()
                samples[name].append((time.perf_counter() - start) * 1e3)
    out = {}
    for name, times in samples.items():
        quartiles = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
        out[name] = {"median_ms": statistics.median(times), "q1_ms": quartiles[0], "q3_ms": quartiles[2],
                     "steps": len(times)}
    return out


def _nothing() -> None:
    pass


def peak_memory(workload: str, framework: str, threads: int | None, steps: int, device: str = "cpu",
                batch: int | None = None) -> dict[str, float] | None:
    """Run a few training steps in a fresh process; its memory growth and total peak (MiB): the
    resident set on the CPU, the GPU memory in use on the GPU (``gpu.memory_child``)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--memory-child", workload, "--framework", framework,
               "--threads", str(threads or 1), "--steps", str(steps), "--device", device]
    if batch is not None:
        command += ["--batch-sizes", str(batch)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        print(f"  memory measurement of {framework} on {workload} failed:\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def _rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process from /proc, in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> bool:
    """Make the kernel's peak-RSS mark start again from the current size (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_child(workload: str, framework: str, threads: int, steps: int, batch: int | None = None) -> None:
    """Inside the subprocess: build one framework's workload alone and train ``steps`` steps.

    The imports are done and the peak mark reset first, so what is measured is the model, its
    optimizer state, the batch and the steps, not the size of the library."""
    limiter = set_threads(threads)  # noqa: F841 (alive while we run)
    reset = _reset_peak_rss()
    before = _rss_mib("VmRSS")
    work = build(workload, (framework,), batch=batch)[framework]
    for _ in range(steps):
        work.step()
    peak = _rss_mib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_mib": peak, "growth_mib": peak - before, "baseline_mib": before}))


# ---- GEMM throughput: the limit figure ----------------------------------------------------------

GEMM_SHAPES = {  # label: (M, K, N) of an (M, K) @ (K, N) float32 product
    "square 1024": (1024, 1024, 1024),
    "W1 conv2 forward (N*Ho*Wo x C*k*k x O)": (12544, 144, 32),
    "W1 conv3 forward": (3136, 288, 64),
    "W3 conv2 forward": (3136, 1600, 128),
    "W4 D conv2 forward": (3136, 1024, 128),
    "W5 LSTM step (B x H x 4H)": (64, 128, 512),
}


def gemm_throughput(with_torch: bool, repeats: int = 10) -> dict[str, dict[str, float]]:
    """GFLOP/s of float32 matrix products through NumPy's BLAS and PyTorch (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, float]] = {}
    for label, (m, k, n) in GEMM_SHAPES.items():
        a, b = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        operands = {"numpy": (a, b)}
        if with_torch:
            operands["torch"] = (torch.from_numpy(a), torch.from_numpy(b))
        out[label] = {}
        for name, (left, right) in operands.items():
            best = min(_timed(left, right) for _ in range(repeats + 1))
            out[label][name] = 2 * m * k * n / best / 1e9
    return out


def _timed(left: Any, right: Any) -> float:
    start = time.perf_counter()
    left @ right
    return time.perf_counter() - start


# ---- profile --------------------------------------------------------------------------------------


def profile(workload: str, steps: int, warmup: int) -> dict[str, Any]:
    """Per-category milliseconds of a minidl step (see ``op_profile.py``), after ``warmup`` steps."""
    from op_profile import OpProfiler  # noqa: PLC0415

    work = build(workload, ("minidl",))["minidl"]
    for _ in range(warmup):
        work.step()
    plain = time_interleaved({"minidl": work.step}, steps, 0, steps)["minidl"]["median_ms"]
    with OpProfiler(work.optimizers) as profiler:
        for _ in range(steps):
            with profiler.step():
                work.step()
    report = profiler.report()
    report["unprofiled_median_ms"] = plain
    return report


def print_profile(name: str, threads: int, report: dict[str, Any], top: int = 12) -> None:
    print(f"\nprofile {name} ({WORKLOADS[name].title}), {threads} thread(s): "
          f"{report['step_ms']:.2f} ms/step profiled, {report['unprofiled_median_ms']:.2f} ms unprofiled (median)")
    for category, ms in report["categories"].items():
        print(f"  {category:40s} {ms:8.2f} ms  {100 * ms / report['step_ms']:5.1f}%")
    print("  top ops (exclusive ms/step, calls/step):")
    for op, ms in list(report["ops"].items())[:top]:
        print(f"    {op:56s} {ms:8.2f}  x{report['calls_per_step'][op]:.0f}")


# ---- output ---------------------------------------------------------------------------------------


def setting(row: dict[str, Any]) -> str:
    """How a row ran, after its workload's name: '1t' (threads) on the CPU, 'b256' (batch size) on the GPU
    and wherever the batch is not the workload's own."""
    parts = []
    if row.get("device", "cpu") != "cpu" or row["batch"] != WORKLOADS[row["workload"]].batch:
        parts.append(f"b{row['batch']}")
    if row["threads"] is not None:
        parts.append(f"{row['threads']}t")
    return " ".join(parts)


def table(rows: list[dict[str, Any]], with_torch: bool) -> str:
    """The results as a Markdown table (ms per step; ratio = minidl / PyTorch)."""
    threads = any(r["threads"] is not None for r in rows)
    head = "| workload |" + (" threads |" if threads else "") + " minidl step ms |"
    line = "|---|" + ("---:|" if threads else "") + "---:|"
    if with_torch:
        head += " PyTorch step ms | step ratio | minidl infer ms | PyTorch infer ms | infer ratio |"
        line += "---:|---:|---:|---:|---:|"
    else:
        head += " minidl infer ms |"
        line += "---:|"
    memory = any(r.get("memory") for r in rows)
    if memory:
        unit = "peak GPU MiB" if any(r.get("device") == "cuda" for r in rows) else "peak MiB"
        head += f" minidl {unit} |" + (f" PyTorch {unit} | memory ratio |" if with_torch else "")
        line += "---:|" + ("---:|---:|" if with_torch else "")
    out = [head, line]
    for r in rows:
        cells = [f"{r['workload']} ({WORKLOADS[r['workload']].name}, batch {r['batch']})"]
        cells += [str(r["threads"])] if threads else []
        cells.append(f"{r['step']['minidl']['median_ms']:.2f}")
        if with_torch:
            cells += [f"{r['step']['torch']['median_ms']:.2f}", f"{r['step_ratio']:.2f}",
                      f"{r['infer']['minidl']['median_ms']:.2f}", f"{r['infer']['torch']['median_ms']:.2f}",
                      f"{r['infer_ratio']:.2f}"]
        else:
            cells.append(f"{r['infer']['minidl']['median_ms']:.2f}")
        if memory:
            mem = r.get("memory") or {}
            mine = mem.get("minidl")
            cells.append(f"{mine['growth_mib']:.0f}" if mine else "-")
            if with_torch:
                theirs = mem.get("torch")
                cells.append(f"{theirs['growth_mib']:.0f}" if theirs else "-")
                cells.append(f"{r['memory_ratio']:.2f}" if r.get("memory_ratio") else "-")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def bar_chart(rows: list[dict[str, Any]], with_torch: bool, path: Path) -> None:
    """Grouped bars: ms per training step, per workload and thread count (batch size on the GPU)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [f"{r['workload']}\n{setting(r)}" for r in rows]
    positions = np.arange(len(rows))
    width = 0.4 if with_torch else 0.6
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows) + 2), 4.5))
    mine = [r["step"]["minidl"]["median_ms"] for r in rows]
    ax.bar(positions - (width / 2 if with_torch else 0), mine, width, label="minidl")
    if with_torch:
        theirs = [r["step"]["torch"]["median_ms"] for r in rows]
        ax.bar(positions + width / 2, theirs, width, label="PyTorch")
        for x, m, t in zip(positions, mine, theirs):
            ax.text(x, max(m, t) * 1.03, f"{m / t:.2f}x", ha="center", fontsize=8)
    ax.set_xticks(positions, labels)
    ax.set_yscale("log")
    ax.set_ylabel("ms per training step (median, log scale)")
    title = "Training step time" + (" on the GPU" if any(r.get("device") == "cuda" for r in rows) else "")
    ax.set_title(title + (": minidl vs PyTorch (label: ratio)" if with_torch else ": minidl"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_results(results: dict[str, Any], markdown: str, out: Path) -> None:
    """``results.json``, ``results.md`` (machine and table) and ``results.png`` (bar chart) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    (out / "results.md").write_text(_markdown_report(results, markdown))
    bar_chart(results["results"], results["with_torch"], out / "results.png")
    print(f"\nwrote {out / 'results.json'}, results.md, results.png")


def write_pool_results(results: dict[str, Any], out: Path) -> None:
    """``pool.json`` (every sample) and ``pool.png`` (the pool over the steps) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "pool.json").write_text(json.dumps(results, indent=2))
    gpu.pool_chart(results["pool"], out / "pool.png")
    print(f"\nwrote {out / 'pool.json'}, pool.png")


# ---- main -----------------------------------------------------------------------------------------


def benchmark(name: str, threads: int | None, batch: int, args: argparse.Namespace,
              with_torch: bool) -> dict[str, Any]:
    frameworks = ("minidl", "torch") if with_torch else ("minidl",)
    on_gpu = args.device == "cuda"
    pair = build(name, frameworks, seed=args.seed, device=args.device, batch=batch)
    syncs = gpu.synchronizers() if on_gpu else None
    step = time_interleaved({f: w.step for f, w in pair.items()}, args.steps, args.warmup, args.block, syncs)
    infer = time_interleaved({f: w.infer for f, w in pair.items()}, max(args.steps // 2, 1),
                             max(args.warmup // 2, 1), args.block, syncs)
    row: dict[str, Any] = {"workload": name, "title": f"{WORKLOADS[name].name}, batch {batch}", "device": args.device,
                           "threads": threads, "batch": batch, "step": step, "infer": infer}
    if on_gpu:
        del pair
        gpu.release_memory()
    if with_torch:
        row["step_ratio"] = step["minidl"]["median_ms"] / step["torch"]["median_ms"]
        row["infer_ratio"] = infer["minidl"]["median_ms"] / infer["torch"]["median_ms"]
    if args.memory:
        row["memory"] = {f: peak_memory(name, f, threads, args.memory_steps, args.device, batch) for f in frameworks}
        mem = row["memory"]
        if with_torch and mem.get("minidl") and mem.get("torch"):
            row["memory_ratio"] = mem["minidl"]["growth_mib"] / max(mem["torch"]["growth_mib"], 1e-9)
    return row


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", help=f"comma-separated, from {','.join(WORKLOADS)} (default: all; "
                                            f"on the GPU {GPU_WORKLOADS})")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu (default), or cuda: minidl on CuPy against PyTorch on CUDA (needs CuPy and a GPU)")
    parser.add_argument("--batch-sizes", help="comma-separated training batch sizes (default: each workload's own "
                                              f"on the CPU, {GPU_BATCH_SIZES} on the GPU)")
    parser.add_argument("--threads", help="comma-separated thread counts (default 1,2; ignored on the GPU)")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per framework (default 50)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up steps (default 10)")
    parser.add_argument("--block", type=int, default=5, help="steps per block when alternating frameworks")
    parser.add_argument("--memory-steps", type=int, default=3, help="training steps in each memory subprocess")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the memory subprocesses")
    parser.add_argument("--no-torch", action="store_true", help="time minidl alone even if PyTorch is installed")
    parser.add_argument("--profile", action="store_true", help="also break minidl's step time down by op (CPU)")
    parser.add_argument("--gemm", action="store_true",
                        help="also measure float32 GEMM throughput (square and conv-shaped) through NumPy and PyTorch")
    parser.add_argument("--pool-steps", type=int, default=0,
                        help="GPU only: instead of the comparison, train minidl this many steps per workload and batch "
                             "size and trace CuPy's memory pool (pool.json, pool.png)")
    parser.add_argument("--pool-every", type=int, default=10, help="steps between two samples of the pool (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="folder for the results (default benchmarks/results, benchmarks/results/gpu "
                                      "with --device cuda)")
    parser.add_argument("--note", default="", help="a line saved with the results (e.g. 'measured under load')")
    parser.add_argument("--blas-kernel", default="env",
                        help="OpenBLAS kernels: 'env' (as the environment sets them), 'auto' (AVX-512 where the CPU "
                             "has it) or an OPENBLAS_CORETYPE name such as SkylakeX")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--framework", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    on_gpu = args.device == "cuda"
    workloads = args.workloads or (GPU_WORKLOADS if on_gpu else DEFAULT_WORKLOADS)
    args.workload_list = [w.strip() for w in workloads.split(",") if w.strip()]
    unknown = [w for w in args.workload_list if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    args.threads_ignored = on_gpu and args.threads is not None
    args.thread_list = [None] if on_gpu else [int(t) for t in (args.threads or "1,2").split(",")]
    batch_sizes = args.batch_sizes or (GPU_BATCH_SIZES if on_gpu else None)
    try:
        args.batch_list = [int(b) for b in batch_sizes.split(",")] if batch_sizes else [None]
    except ValueError:
        parser.error(f"--batch-sizes takes comma-separated whole numbers, got {args.batch_sizes!r}")
    if any(b is not None and b < 1 for b in args.batch_list):
        parser.error("--batch-sizes must be >= 1")
    if args.steps < 1 or args.warmup < 0 or args.block < 1:
        parser.error("--steps and --block must be >= 1, --warmup >= 0")
    if args.pool_steps < 0 or args.pool_every < 1:
        parser.error("--pool-steps must be >= 0 and --pool-every >= 1")
    if args.pool_steps and not on_gpu:
        parser.error("--pool-steps traces CuPy's GPU memory pool: it needs --device cuda")
    if on_gpu and (args.profile or args.gemm):
        parser.error("--profile and --gemm measure the CPU engine: leave them out with --device cuda")
    args.out = args.out or str(HERE / "results" / ("gpu" if on_gpu else ""))
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.memory_child:
        if args.device == "cuda":
            print(json.dumps(gpu.memory_child(args.memory_child, args.framework, args.batch_list[0], args.steps)))
        else:
            memory_child(args.memory_child, args.framework, args.thread_list[0], args.steps, args.batch_list[0])
        return {}
    on_gpu = args.device == "cuda"
    cupy = gpu.require_gpu() if on_gpu else None
    problem = ("PyTorch not installed" if torch is None else "PyTorch left out (--no-torch)" if args.no_torch
               else gpu.torch_gpu_problem(torch) if on_gpu else None)
    with_torch = problem is None
    if not with_torch and not args.pool_steps:
        print(f"{problem}: timing minidl alone")
    info = machine()
    print(f"machine: {info.get('cpu')}, {info['cpus']} CPUs, Python {info['python']}, NumPy {info['numpy']}"
          + (f", PyTorch {info['torch']}" if info["torch"] else "")
          + "".join(f", BLAS {b['internal_api']} {b['version']}" for b in info.get("blas", [])))
    if on_gpu:
        info.update(gpu.gpu_info(cupy, torch))
        print(gpu.describe(info))
        if args.threads_ignored:
            print("--threads is ignored on the GPU: the steps run as GPU kernels, and neither framework's thread count "
                  "is set")
    if args.pool_steps:
        return pool_run(args, info)
    rows, profiles, gemm = [], {}, {}
    for threads in args.thread_list:
        limiter = set_threads(threads) if threads is not None else None  # noqa: F841 (alive while we run)
        if args.gemm:
            gemm[str(threads)] = gemm_throughput(with_torch)
            for label, rates in gemm[str(threads)].items():
                print(f"GEMM {threads}t {label:40s} " + ", ".join(f"{k} {v:6.1f} GFLOP/s" for k, v in rates.items()))
        for name in args.workload_list:
            for batch in args.batch_list:
                started = time.perf_counter()
                row = benchmark(name, threads, batch or WORKLOADS[name].batch, args, with_torch)
                rows.append(row)
                line = f"{name:6s} {setting(row)}: minidl {row['step']['minidl']['median_ms']:8.2f} ms/step"
                if with_torch:
                    line += f", PyTorch {row['step']['torch']['median_ms']:8.2f}, ratio {row['step_ratio']:.2f}"
                print(line + f"  ({time.perf_counter() - started:.0f} s)", flush=True)
            if args.profile:
                report = profile(name, args.steps, args.warmup)
                profiles[f"{name}/{threads}"] = report
                print_profile(name, threads, report)
    markdown = table(rows, with_torch)
    print()
    print(markdown)
    measure = (gpu.MEMORY_MEASURE if on_gpu else gpu.CPU_MEMORY_MEASURE) if args.memory else None
    if on_gpu and measure:
        print(f"\npeak GPU MiB: {measure}")
    results = {"machine": info, "note": args.note, "device": args.device,
               "settings": {k: getattr(args, k) for k in ("steps", "warmup", "block", "memory_steps", "seed")},
               "with_torch": with_torch, "memory_measure": measure, "results": rows, "profiles": profiles,
               "gemm_gflops": gemm, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    write_results(results, markdown, Path(args.out))
    return results


def pool_run(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, Any]:
    """``--pool-steps``: CuPy's memory pool over that many minidl steps, per workload and batch size."""
    traces = []
    for name in args.workload_list:
        for batch in args.batch_list:
            trace = gpu.trace_pool(name, batch or WORKLOADS[name].batch, args.pool_steps, args.pool_every,
                                   args.warmup, args.seed)
            traces.append(trace)
            print(gpu.pool_line(trace), flush=True)
    results = {"machine": info, "note": args.note, "pool": traces,
               "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    write_pool_results(results, Path(args.out))
    return results


def _markdown_report(results: dict[str, Any], markdown: str) -> str:
    info = results["machine"]
    on_gpu = results.get("device") == "cuda"
    blas = "; ".join(f"{b['internal_api']} {b['version']} ({b.get('architecture')}, {b.get('threading_layer')})"
                     for b in info.get("blas", [])) or "unknown"
    lines = [f"# Benchmark results{' on the GPU' if on_gpu else ''} ({results['date_utc']} UTC)", ""]
    if on_gpu:
        lines.append(f"- {gpu.describe(info)}")
    lines += [
        f"- {'Host CPU' if on_gpu else 'CPU'}: {info.get('cpu')}, {info['cpus']} CPUs ({info.get('cores_per_socket')} "
        f"cores per socket, {info.get('threads_per_core')} thread(s) per core)",
        f"- Python {info['python']}, NumPy {info['numpy']} with {blas}, numba {info.get('numba')}, "
        f"PyTorch {info.get('torch')}",
        f"- {results['settings']['steps']} timed steps after {results['settings']['warmup']} warm-ups, "
        f"frameworks alternating in blocks of {results['settings']['block']}; median ms per step",
    ]
    if on_gpu:
        lines.append("- each framework's queued GPU work is waited for before every reading of the clock "
                     "(minidl.cuda.synchronize, torch.cuda.synchronize); thread counts do not apply")
        if results.get("memory_measure"):
            lines.append(f"- peak GPU MiB: {results['memory_measure']}")
    if results["note"]:
        lines.append(f"- {results['note']}")
    lines += ["", markdown, ""]
    for threads, shapes in results["gemm_gflops"].items():
        names = list(next(iter(shapes.values())))
        lines += [f"## GEMM throughput, {threads} thread(s), GFLOP/s (float32, best of 10)", "",
                  "| product (M, K, N) | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for label, rates in shapes.items():
            lines.append(f"| {label} {GEMM_SHAPES[label]} | " + " | ".join(f"{rates[k]:.0f}" for k in names) + " |")
        lines.append("")
    for key, report in results["profiles"].items():
        lines += [f"## Profile {key} ({report['step_ms']:.2f} ms/step profiled)", "",
                  "| category | ms/step | share |", "|---|---:|---:|"]
        lines += [f"| {c} | {ms:.2f} | {100 * ms / report['step_ms']:.0f}% |" for c, ms in report["categories"].items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
