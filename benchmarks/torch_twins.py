"""The reference models W1-W6 in PyTorch, built from the very source of ``minidl/models.py``.

``minidl.models`` is written exactly as it would be in PyTorch, so its PyTorch twin is that same
source with its three imports pointed at ``torch``: the two can never drift apart, and a check that
the twins agree (``tests/test_models.py``) is a check that minidl reads like PyTorch.
"""

from __future__ import annotations

import types
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "minidl" / "models.py"
IMPORTS = {
    "from . import nn\n": "from torch import nn\n",
    "from .creation import randn_like\n": "from torch import randn_like\n",
    "from .tensor import Tensor\n": "from torch import Tensor\n",
}


def torch_models() -> types.ModuleType:
    """``minidl.models`` compiled against PyTorch (needs ``torch``)."""
    source = SOURCE.read_text()
    for ours, theirs in IMPORTS.items():
        if ours not in source:
            raise RuntimeError(f"{SOURCE}: expected the import {ours.strip()!r}; update IMPORTS in {__file__}")
        source = source.replace(ours, theirs)
    module = types.ModuleType("torch_models")
    module.__file__ = str(SOURCE)
    exec(compile(source, str(SOURCE), "exec"), module.__dict__)
    return module
