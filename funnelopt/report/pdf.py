"""PDF from the report's HTML, printed by headless Chromium.

Why Chromium: it renders the same HTML and print CSS (A4, no table split across pages)
that the tests check in a real browser, so the PDF is what the HTML promises; it adds no
Python dependency (WeasyPrint would need Pango and its own CSS subset), and Debian ships
it (``apt-get install chromium``). ``FUNNELOPT_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from funnelopt.errors import FunnelOptError

#: Executables tried in order when FUNNELOPT_CHROMIUM is not set.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 120


def chromium() -> str:
    """The Chromium executable, or an error that says how to get one."""
    named = os.environ.get("FUNNELOPT_CHROMIUM")
    found = named if named and Path(named).is_file() else None
    found = found or next((w for w in map(shutil.which, CANDIDATES) if w), None)
    if found is None:
        raise FunnelOptError(
            "PDF reports are printed by headless Chromium, which was not found: install it "
            "(apt-get install chromium) or set FUNNELOPT_CHROMIUM; or write .html and print "
            "it from a browser"
        )
    return found


def html_to_pdf(html: str, path: Path) -> Path:
    """Print ``html`` to ``path`` as an A4 PDF (the page's own print CSS applies)."""
    exe = chromium()
    with tempfile.TemporaryDirectory(prefix="funnelopt-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        out = Path(tmp) / "report.pdf"
        args = [
            exe,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with it
        try:
            run = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise FunnelOptError(f"Chromium took over {TIMEOUT_S} s to print the PDF") from None
        if run.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = (run.stderr or "").strip().splitlines()[-1:] or ["no output"]
            raise FunnelOptError(f"Chromium could not print the PDF: {tail[0]}")
        path.write_bytes(out.read_bytes())
    return path
