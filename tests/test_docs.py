"""Every ```python block in the README and docs/ runs (so the docs never rot)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import ROOT

BLOCK = re.compile(r"```python\n(.*?)```", re.S)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CASES = [
    pytest.param(code, id=f"{path.name}:{n}")
    for path in DOCS
    for n, code in enumerate(BLOCK.findall(path.read_text(encoding="utf-8")))
]


@pytest.mark.parametrize("code", CASES)
def test_doc_block_runs(code: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": "__doc__", "TMP": str(tmp_path)}
    exec(compile(code, "<doc>", "exec"), namespace)  # the code is our own documentation
    assert os.getcwd() == str(ROOT)


def test_docs_have_examples() -> None:
    assert len(CASES) >= 3
