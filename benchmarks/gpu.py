"""The GPU side of ``run.py``: the checks, the GPU's description, synchronisation, peak GPU memory
and the trace of CuPy's memory pool over many steps (``--pool-steps``).

CuPy is never imported when this module is: ``run.py`` imports it on every machine, and
``require_gpu`` turns a missing CuPy or a missing GPU into a one-line message. The pieces that
need no GPU (the pool trace and its growth, the chart, the descriptions) take the CuPy or PyTorch
module, or the pool, as arguments, so they can be tried with stand-ins (``tests/benchmarks``).

    cupy = require_gpu()                       # or exit naming what is missing
    gpu_info(cupy, torch)                      # {'gpu': 'NVIDIA H100 80GB HBM3', 'cupy': '13.6.0', ...}
    memory_child("W1", "minidl", 64, 3)        # in a fresh process: peak GPU MiB over 3 steps
    trace_pool("W1", 64, steps=1000, every=10, warmup=10, seed=0)
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any, Callable

import minidl as md

try:
    import torch
except ImportError:
    torch = None

MIB = 2**20

MEMORY_MEASURE = (
    "peak GPU memory in use during the training steps, over what was in use before the model was built, "
    "each framework in a fresh process: minidl = the highest used_bytes() of CuPy's default memory pool "
    "(read at every allocation by a cupy.cuda.MemoryHook), PyTorch = torch.cuda.max_memory_allocated() "
    "after torch.cuda.reset_peak_memory_stats(). The JSON also has what each allocator holds in reserve "
    "(CuPy total_bytes(), PyTorch max_memory_reserved()) and the device-wide growth (cudaMemGetInfo)"
)
CPU_MEMORY_MEASURE = (
    "growth of the peak resident set (VmHWM) over the process's size before the model was built, "
    "each framework in a fresh process"
)


# ---- checks and the machine -----------------------------------------------------------------------


def require_gpu() -> types.ModuleType:
    """CuPy, with at least one visible GPU that minidl can use; otherwise exit with a message naming what is missing."""
    try:
        import cupy  # noqa: PLC0415
    except ImportError as error:
        sys.exit(f"--device cuda needs CuPy, which is not installed here ({type(error).__name__}: {error}). "
                 "Install the build that matches the CUDA driver, e.g. pip install cupy-cuda12x "
                 "(or pip install 'minidl[gpu]'), on a machine with an NVIDIA GPU.")
    try:
        count, reason = int(cupy.cuda.runtime.getDeviceCount()), "getDeviceCount() = 0"
    except Exception as error:  # cupy's CUDARuntimeError when there is no driver or no device
        count, reason = 0, f"{type(error).__name__}: {error}"
    if count == 0:
        sys.exit(f"--device cuda needs a visible GPU, and CuPy {cupy.__version__} finds none ({reason}). "
                 "Check nvidia-smi, the NVIDIA driver and CUDA_VISIBLE_DEVICES.")
    if not md.cuda.is_available():
        try:
            md.backend.cupy_module()
        except RuntimeError as error:
            sys.exit(f"--device cuda: CuPy sees {count} GPU(s) but minidl cannot use them: {error}")
    return cupy


def torch_gpu_problem(torch_module: types.ModuleType | None) -> str | None:
    """Why PyTorch cannot be timed on the GPU (``None`` when it can)."""
    if torch_module is None:
        return "PyTorch not installed"
    if not torch_module.cuda.is_available():
        build = ("a CPU-only build" if torch_module.version.cuda is None
                 else f"built for CUDA {torch_module.version.cuda}, but torch.cuda.is_available() is False")
        return f"PyTorch {torch_module.__version__} has no GPU ({build})"
    return None


def _cuda_version(number: int) -> str:
    """CUDA's integer version as text: 12040 -> '12.4'."""
    return f"{number // 1000}.{number % 1000 // 10}"


def gpu_info(cupy: types.ModuleType, torch_module: types.ModuleType | None) -> dict[str, Any]:
    """The GPU (name, memory, compute capability), CUDA driver and runtime, CuPy, and PyTorch's CUDA build."""
    properties = cupy.cuda.runtime.getDeviceProperties(0)
    name = properties["name"]
    info: dict[str, Any] = {
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "gpu_memory_gib": round(properties["totalGlobalMem"] / 2**30, 1),
        "compute_capability": f"{properties['major']}.{properties['minor']}",
        "gpu_count": int(cupy.cuda.runtime.getDeviceCount()),
        "cupy": cupy.__version__,
        "cuda_runtime": _cuda_version(cupy.cuda.runtime.runtimeGetVersion()),
        "cuda_driver": _cuda_version(cupy.cuda.runtime.driverGetVersion()),
        "torch_cuda": None, "torch_cudnn": None,
    }
    if torch_module is not None and torch_module.cuda.is_available():
        info["torch_cuda"] = torch_module.version.cuda
        info["torch_cudnn"] = torch_module.backends.cudnn.version()
    return info


def describe(info: dict[str, Any]) -> str:
    """One line for stdout and the Markdown report."""
    line = (f"GPU: {info['gpu']} ({info['gpu_memory_gib']} GiB, compute capability {info['compute_capability']}), "
            f"CUDA driver {info['cuda_driver']}, runtime {info['cuda_runtime']}, CuPy {info['cupy']}")
    if info.get("torch_cuda"):
        line += f", PyTorch {info.get('torch')} (CUDA {info['torch_cuda']}, cuDNN {info['torch_cudnn']})"
    return line


# ---- timing and memory ----------------------------------------------------------------------------


def synchronizers() -> dict[str, Callable[[], None]]:
    """Per framework, the call that waits for the GPU's queued work (before each clock read)."""
    syncs = {"minidl": md.cuda.synchronize}
    if torch is not None and torch.cuda.is_available():
        syncs["torch"] = torch.cuda.synchronize
    return syncs


def release_memory() -> None:
    """Give the cached blocks of both allocators back to the device (between workloads)."""
    import gc  # noqa: PLC0415

    gc.collect()
    md.backend.cupy_module().get_default_memory_pool().free_all_blocks()
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _device_used(free_and_total: tuple[int, int]) -> int:
    free, total = free_and_total
    return total - free


def memory_child(workload: str, framework: str, batch: int, steps: int) -> dict[str, float]:
    """In a fresh process: build one framework's workload on the GPU, train ``steps`` steps; peak MiB.

    The CUDA context exists before the baseline is read, so what is measured is the model, its
    optimizer state, the batch and the steps' temporaries (see ``MEMORY_MEASURE``)."""
    from workloads import build  # noqa: PLC0415

    if framework == "torch":
        torch.zeros(1, device="cuda")
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before, device_before = torch.cuda.memory_allocated(), _device_used(torch.cuda.mem_get_info())
        work = build(workload, ("torch",), device="cuda", batch=batch)["torch"]
        for _ in range(steps):
            work.step()
        torch.cuda.synchronize()
        peak, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
        device_after = _device_used(torch.cuda.mem_get_info())
    else:
        cupy = md.backend.cupy_module()
        pool = cupy.get_default_memory_pool()
        md.zeros(1, device="cuda")
        md.cuda.synchronize()
        before, device_before = pool.used_bytes(), _device_used(cupy.cuda.runtime.memGetInfo())

        class PeakUsed(cupy.cuda.MemoryHook):
            name = "benchmarks.gpu.PeakUsed"
            peak = before

            def malloc_postprocess(self, **kwargs: Any) -> None:
                self.peak = max(self.peak, pool.used_bytes())

        with PeakUsed() as hook:
            work = build(workload, ("minidl",), device="cuda", batch=batch)["minidl"]
            for _ in range(steps):
                work.step()
            md.cuda.synchronize()
        peak, reserved = max(hook.peak, pool.used_bytes()), pool.total_bytes()
        device_after = _device_used(cupy.cuda.runtime.memGetInfo())
    return {"peak_mib": peak / MIB, "growth_mib": (peak - before) / MIB, "baseline_mib": before / MIB,
            "reserved_mib": reserved / MIB, "device_growth_mib": (device_after - device_before) / MIB}


# ---- the memory pool over many steps (--pool-steps) ------------------------------------------------


def pool_samples(step: Callable[[], Any], pool: Any, synchronize: Callable[[], None], steps: int,
                 every: int) -> list[dict[str, int]]:
    """Train ``steps`` steps; after the first, every ``every``-th and the last, the pool's bytes in use
    (``used_bytes()``) and held from the device (``total_bytes()``)."""
    samples = []
    for number in range(1, steps + 1):
        step()
        if number == 1 or number % every == 0 or number == steps:
            synchronize()
            samples.append({"step": number, "used_bytes": int(pool.used_bytes()),
                            "total_bytes": int(pool.total_bytes())})
    return samples


def pool_growth(samples: list[dict[str, int]], warmup: int) -> dict[str, Any]:
    """How far the pool grew after warm-up: the largest value after the first sample at or past
    ``warmup`` steps, minus that sample's. ``flat``: the pool's size did not grow at all."""
    settled = [s for s in samples if s["step"] >= warmup] or samples[-1:]
    first = settled[0]
    growth = {kind: max(s[kind] for s in settled) - first[kind] for kind in ("used_bytes", "total_bytes")}
    return {"baseline_step": first["step"], "used_after_warmup_bytes": first["used_bytes"],
            "total_after_warmup_bytes": first["total_bytes"], "used_growth_bytes": growth["used_bytes"],
            "total_growth_bytes": growth["total_bytes"], "flat": growth["total_bytes"] == 0}


def trace_pool(workload: str, batch: int, steps: int, every: int, warmup: int, seed: int) -> dict[str, Any]:
    """minidl's workload on the GPU for ``steps`` steps: the pool's samples and its growth after warm-up."""
    from workloads import build  # noqa: PLC0415

    release_memory()
    work = build(workload, ("minidl",), seed=seed, device="cuda", batch=batch)["minidl"]
    pool = md.backend.cupy_module().get_default_memory_pool()
    samples = pool_samples(work.step, pool, md.cuda.synchronize, steps, every)
    return {"workload": workload, "batch": batch, "steps": steps, "every": every, "warmup": warmup,
            "samples": samples, **pool_growth(samples, warmup)}


def pool_line(trace: dict[str, Any]) -> str:
    """A trace summed up in one line of stdout."""
    verdict = "flat" if trace["flat"] else f"GREW by {trace['total_growth_bytes'] / MIB:.2f} MiB"
    return (f"pool {trace['workload']} b{trace['batch']}, {trace['steps']} steps: after warm-up (step "
            f"{trace['baseline_step']}) {trace['used_after_warmup_bytes'] / MIB:.2f} MiB in use, pool "
            f"{trace['total_after_warmup_bytes'] / MIB:.2f} MiB; afterwards in use +"
            f"{trace['used_growth_bytes'] / MIB:.2f} MiB at most, pool size {verdict}")


def pool_chart(traces: list[dict[str, Any]], path: Path) -> None:
    """MiB in use (solid) and held by the pool (dashed) against the step, one colour per workload and batch."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 4))
    for trace in traces:
        steps = [s["step"] for s in trace["samples"]]
        label = f"{trace['workload']} b{trace['batch']}"
        (line,) = ax.plot(steps, [s["used_bytes"] / MIB for s in trace["samples"]], label=f"{label} in use")
        ax.plot(steps, [s["total_bytes"] / MIB for s in trace["samples"]], "--", color=line.get_color(),
                label=f"{label} pool size")
    ax.set_xlabel("training step")
    ax.set_ylabel("MiB")
    ax.set_title("CuPy memory pool over training (minidl on the GPU)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
