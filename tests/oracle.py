"""PyTorch as the test oracle: imported when installed; differential tests skip without it."""

import pytest

try:
    import torch
except ImportError:
    torch = None

requires_torch = pytest.mark.skipif(
    torch is None, reason="torch is not installed: the differential tests against PyTorch are skipped"
)
