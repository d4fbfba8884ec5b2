"""Every ```python block in the README and docs/ runs (so the docs never rot).

The blocks of one page run in order in one namespace, as a reader would type them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT

BLOCK = re.compile(r"```python\n(.*?)```", re.S)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PAGES = [pytest.param(p, id=p.name) for p in DOCS if BLOCK.search(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict[str, object] = {"__name__": "__doc__", "TMP": str(tmp_path)}
    for n, code in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
        exec(compile(code, f"{page.name}[block {n}]", "exec"), namespace)  # our own documentation


def test_docs_have_examples() -> None:
    names = {p.id for p in PAGES}
    assert {"README.md", "model.md", "optimizer.md", "scenario.md"} <= names
