"""The HTTP service: the CLI's questions over HTTP (``funnelopt serve``), and the what-if
page at ``/``. Needs the ``service`` extra (FastAPI and uvicorn), imported only here when
the service is built, so ``import funnelopt`` and the CLI work without it.

See docs/service.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from funnelopt.errors import InputError, Problem

if TYPE_CHECKING:
    from fastapi import FastAPI

MISSING = "the HTTP service needs FastAPI and uvicorn: pip install funnelopt[service]"


@dataclass(frozen=True)
class Config:
    """How the service runs: keys, limits, origins and solver processes."""

    #: Accepted API keys (``Authorization: Bearer KEY``); none: no key is asked for.
    api_keys: tuple[str, ...] = ()
    #: Request bodies larger than this are refused (413).
    max_body_bytes: int = 5_000_000
    #: Seconds one request may take, waiting included; past it the solve is stopped (503).
    time_limit: float = 30.0
    #: Points one sweep may have (422 above).
    max_sweep_points: int = 200
    #: Browser origins allowed to call the API (CORS); none: same origin only.
    cors_origins: tuple[str, ...] = ()
    #: Solver processes (requests solved at once).
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.time_limit <= 86_400:
            problems.append(Problem("--time-limit", self.time_limit, "must be in (0, 86400]"))
        if self.max_body_bytes < 1:
            problems.append(Problem("--max-body-bytes", self.max_body_bytes, "must be >= 1"))
        if self.max_sweep_points < 1:
            problems.append(Problem("--max-sweep-points", self.max_sweep_points, "must be >= 1"))
        if not 1 <= self.workers <= 256:
            problems.append(Problem("--workers", self.workers, "must be in 1..256"))
        if any(not k for k in self.api_keys):
            problems.append(Problem("--api-key-file", "(empty key)", "keys must not be empty"))
        if problems:
            raise InputError(problems)


def read_keys(path: str | Path) -> tuple[str, ...]:
    """API keys from a file: one per line; blank lines and ``#`` comments are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            [Problem("--api-key-file", str(path), f"cannot be read: {exc.strerror or exc}")]
        ) from None
    keys = tuple(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )
    if not keys:
        raise InputError([Problem("--api-key-file", str(path), "holds no key")])
    return keys


def create_app(config: Config | None = None) -> FastAPI:
    """The ASGI application (FastAPI). The solver processes start with it (lifespan)."""
    try:
        from funnelopt.service.api import build
    except ModuleNotFoundError as exc:
        if exc.name in ("fastapi", "starlette", "pydantic_core"):
            raise ModuleNotFoundError(MISSING) from exc
        raise
    return build(config or Config())


def serve(config: Config, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the service until interrupted (uvicorn, one event loop; ``config.workers``
    solver processes)."""
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(MISSING) from exc
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")


__all__ = ["MISSING", "Config", "create_app", "read_keys", "serve"]
