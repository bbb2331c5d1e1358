"""Every ``>>>`` example in minidl's docstrings runs and prints what it shows (one test per module)."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import minidl as md
from minidl import random as md_random

MODULES = sorted(info.name for info in pkgutil.walk_packages(md.__path__, "minidl."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        if "cupy" in str(error).lower():  # a module that needs CuPy at import time, on a machine without it
            pytest.skip(f"{name} needs CuPy and a GPU: {error}")
        raise


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Examples write their files in a temporary folder, start from fixed seeds, and leave the RNGs as they were."""
    monkeypatch.chdir(tmp_path)
    md_state, np_state = md_random.get_rng_state(), np.random.get_state()
    md.manual_seed(0)
    np.random.seed(0)
    yield
    md_random.set_rng_state(md_state)
    np.random.set_state(np_state)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, isolated):
    module = _import(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    failed = attempted = 0
    for test in doctest.DocTestFinder().find(module, name):
        result = runner.run(test, out=report.append)
        failed += result.failed
        attempted += result.attempted
    assert failed == 0, f"{failed} of {attempted} docstring examples in {name} failed:\n" + "".join(report)
