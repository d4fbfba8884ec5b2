"""The command line through its real entry point (a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import EXAMPLES

import funnelopt


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "funnelopt", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"funnelopt {funnelopt.__version__}"


def test_check_valid_examples() -> None:
    for path in sorted(EXAMPLES.glob("*.toml")):
        r = run("check", str(path))
        assert r.returncode == 0, r.stderr
        assert "valid" in r.stdout


def test_check_broken_copy_names_the_field(tmp_path: Path) -> None:
    text = (EXAMPLES / "disease_awareness.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("schema_version = 1", "schema_version = 1\nperiods_x = 3", 1))
    r = run("check", str(broken))
    assert r.returncode == 2
    assert "error: periods_x = 3: is not a known field" in r.stderr
    assert "Traceback" not in r.stderr


def test_check_reads_stdin_and_reports_every_problem() -> None:
    text = (EXAMPLES / "traffic_only.toml").read_text()
    text = text.replace("periods        = 12", "periods = 0", 1)
    text = text.replace("ctr           = 0.01", "ctr = 7", 1)
    r = run("check", "-", stdin=text)
    assert r.returncode == 2
    assert "periods = 0: must be >= 1" in r.stderr
    assert "tactics.meta_dark.ctr = 7: must be < 1" in r.stderr


def test_malformed_toml_is_exit_2() -> None:
    r = run("check", "-", stdin="periods = = 3")
    assert r.returncode == 2 and "not valid TOML" in r.stderr


def test_no_command_prints_help() -> None:
    r = run()
    assert r.returncode == 2 and "usage: funnelopt" in r.stdout
