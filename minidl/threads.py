"""How many CPU threads minidl's kernels use: ``md.set_num_threads(n)``, as ``torch.set_num_threads``.

The CPU work that runs on several threads is NumPy's BLAS (every matrix product, hence every
convolution and linear layer) and numba's parallel kernels. Both default to one thread per core.
On a machine that other jobs share, fewer threads are often *faster*: a BLAS call waits for its
slowest thread, and a descheduled thread stalls it for a whole time slice (seen here: a W3 step
went from 151 ms to 624 ms with 2 BLAS threads on 2 busy cores).

    md.set_num_threads(1)     # one thread for BLAS and numba, from now on, process-wide
    md.get_num_threads()      # 1
"""

from __future__ import annotations

from typing import Any

_limiter: Any = None


def set_num_threads(threads: int) -> None:
    """Use at most ``threads`` threads in NumPy's BLAS and numba's kernels (process-wide)."""
    global _limiter
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {threads!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise RuntimeError(
            "set_num_threads needs threadpoolctl to reach NumPy's BLAS: pip install threadpoolctl "
            "(or set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting Python)"
        ) from error
    _limiter = threadpool_limits(limits=threads, user_api="blas")  # kept alive: the limit holds
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (the largest, when several BLAS libraries are loaded)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        import os

        return os.cpu_count() or 1
    counts = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return max(counts, default=1)
