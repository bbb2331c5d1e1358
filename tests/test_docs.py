"""Every ```python block in README.md and docs/**/*.md runs (blocks in one file share a namespace)."""

import re
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _snippets(path: Path) -> list[str]:
    # a block inside a list item is indented with it: dedent
    return [textwrap.dedent(block) for block in re.findall(r"```python\n(.*?)```", path.read_text(), re.S)]


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if _snippets(p)], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_snippets_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace: dict = {}
    for number, code in enumerate(_snippets(path)):
        exec(compile(code, f"{path.relative_to(ROOT)}[snippet {number}]", "exec"), namespace)
