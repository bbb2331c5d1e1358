"""Per-op overhead: microseconds per small elementwise op with gradient tracking, minidl vs PyTorch.

On tiny tensors the arithmetic is free, so what is timed is the framework itself: dispatch,
graph recording, and (for backward) the engine. Both frameworks run in this one process on
the same machine, single-threaded.

    python benchmarks/overhead.py            # table on stdout
    python benchmarks/overhead.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Callable

import numpy as np

import minidl as md

try:
    import torch
except ImportError:
    torch = None


def _median_us(run: Callable[[], None], ops_per_run: int, repeats: int = 30) -> float:
    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / ops_per_run * 1e6


def _cases(lib) -> dict[str, Callable[[], None]]:
    """Each case runs CHAIN ops on a 16-element float32 tensor that requires grad."""
    chain = 200
    x = lib.ones(16, requires_grad=True)
    w = lib.ones(16)

    def forward_mul():
        y = x
        for _ in range(chain):
            y = y * w

    def forward_add_scalar():
        y = x
        for _ in range(chain):
            y = y + 1.0

    def forward_no_grad():
        with lib.no_grad():
            y = x
            for _ in range(chain):
                y = y * w

    def forward_backward():
        y = x
        for _ in range(chain):
            y = y * w
        y.sum().backward()

    return {
        "mul, recorded (forward)": forward_mul,
        "add scalar, recorded (forward)": forward_add_scalar,
        "mul under no_grad": forward_no_grad,
        "mul, forward + backward": forward_backward,
    }, chain


def measure() -> dict:
    if torch is not None:
        torch.set_num_threads(1)
    results = {}
    libraries = [("minidl", md)] + ([("torch", torch)] if torch is not None else [])
    for name, lib in libraries:
        cases, chain = _cases(lib)
        results[name] = {case: _median_us(run, chain) for case, run in cases.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    results = measure()
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"NumPy {np.__version__}" + (f", PyTorch {torch.__version__}" if torch is not None else " (no torch)"))
    header = f"{'us per op (16 float32 elements)':34s} {'minidl':>9s}"
    if "torch" in results:
        header += f" {'torch':>9s} {'ratio':>7s}"
    print(header)
    for case, mine in results["minidl"].items():
        line = f"{case:34s} {mine:9.2f}"
        if "torch" in results:
            theirs = results["torch"][case]
            line += f" {theirs:9.2f} {mine / theirs:7.2f}"
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
