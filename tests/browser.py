"""A page in headless Chromium (Debian's package, installed by .ci/run) driven by
Playwright, with the console errors it logs: what the browser tests share."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the network flags Chromium's background connections are refused, many at a time,
# by this machine's closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def browser_page(**page_options: Any) -> Iterator[tuple[Any, list[str]]]:
    """A new page and the list its console errors and uncaught exceptions go to."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(**page_options)
            problems: list[str] = []
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page, problems
        finally:
            browser.close()


def page_facts(page: Any) -> tuple[str, list[tuple[str, bool]], int]:
    """A loaded page's text, its images (alt text, whether it loaded) and how far it is
    wider than the viewport (<= 0: not at all)."""
    text = page.inner_text("body")
    images = page.evaluate(
        "[...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0])"
    )
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return text, [(str(a), bool(ok)) for a, ok in images], int(overflow)
