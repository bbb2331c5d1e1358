import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # for tests/oracle.py and tests/op_cases.py


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _cuda_skip_reason():
    import minidl as md

    if md.cuda.is_available():
        return None
    from minidl import backend

    return f"'cuda' needs CuPy and a GPU ({backend._cupy_import_error or 'no GPU found'})"


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Runs a test once per device: 'cpu' always, 'cuda' when CuPy sees a GPU (skipped otherwise, with why)."""
    if request.param == "cuda":
        reason = _cuda_skip_reason()
        if reason:
            pytest.skip(reason)
    return request.param
