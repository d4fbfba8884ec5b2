"""The FastAPI application: routes, keys, limits. The answers themselves come from
:mod:`funnelopt.service.answers`, run in the solver processes."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from funnelopt import app as usecases
from funnelopt._version import __version__
from funnelopt.errors import InputError
from funnelopt.scenario import example_text
from funnelopt.service import Config
from funnelopt.service.answers import QUESTIONS, REQUESTS, Limits, answer, message
from funnelopt.service.pool import Overtime, SolverPool

log = logging.getLogger("funnelopt.service")
PAGE = Path(__file__).resolve().parent / "page"
JSON = "application/json"


def _json(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text, status_code=status, media_type=JSON, headers=headers)


class _Refused(Exception):
    """A request refused before any work: answered with its status and message."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers


def build(config: Config) -> FastAPI:
    """The application for ``config`` (see :func:`funnelopt.service.create_app`)."""
    limits = Limits(time_limit=config.time_limit, max_sweep_points=config.max_sweep_points)
    keys = tuple(k.encode() for k in config.api_keys)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        pool = SolverPool(config.workers)
        await pool.start()
        api.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    api = FastAPI(
        title="funnelopt",
        version=__version__,
        description="Campaign plans and budget optimisation over HTTP: the answers are the "
        "JSON documents `funnelopt ... --format json` prints. See docs/service.md.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; the page works offline
        redoc_url=None,
    )
    if config.cors_origins:
        api.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )

    @api.exception_handler(_Refused)
    async def refused(request: Request, exc: _Refused) -> Response:
        return _json(exc.status, message(exc.text), exc.headers)

    def authorised(request: Request) -> None:
        """A valid ``Authorization: Bearer KEY`` when keys are configured. Every key is
        compared in constant time; the key is never logged or echoed."""
        if not keys:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        token = given.strip().encode()
        ok = False
        for k in keys:  # no early exit: the time does not say which key came close
            ok |= hmac.compare_digest(token, k)
        if scheme.lower() != "bearer" or not ok:
            raise _Refused(
                401,
                "a valid API key is needed: Authorization: Bearer KEY",
                {"WWW-Authenticate": "Bearer"},
            )

    async def body(request: Request) -> bytes:
        """The request body, refused (413) past the limit, however it is sent."""
        limit = config.max_body_bytes
        too_large = _Refused(413, f"the request body is larger than {limit:,} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > 2 * limit:
                raise too_large
            if size <= limit:
                chunks.append(chunk)
        if size > limit:
            # Read to the end (up to twice the limit) before refusing: a client still
            # sending when the connection closes may never see the 413.
            raise too_large
        return b"".join(chunks)

    async def solve(request: Request, question: str) -> Response:
        pool: SolverPool = request.app.state.pool
        raw = await body(request)
        try:
            status, text = await pool.run(config.time_limit, answer, question, raw, limits)
        except Overtime as exc:
            what = (
                f"the solve took longer than this server's time limit ({config.time_limit:g} s) "
                "and was stopped; try a smaller scenario or sweep, a larger tolerance, or "
                "ask the operator for a longer --time-limit"
                if exc.started
                else f"every solver ({pool.size}) stayed busy for the whole time limit "
                f"({config.time_limit:g} s); try again later"
            )
            return _json(503, message(what), {"Retry-After": "5"})
        except BrokenProcessPool:  # the process died under the solve (e.g. out of memory)
            log.error("a solver process died answering %s; it is replaced", question)
            return _json(500, message("the solver process stopped unexpectedly; try again"))
        return _json(status, text)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorised)])
    for question in QUESTIONS:
        v1.add_api_route(
            f"/{question}",
            _endpoint(solve, question),
            methods=["POST"],
            name=question,
            summary=REQUESTS[question].__doc__,
            response_class=Response,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": REQUESTS[question].model_json_schema()}},
                }
            },
            responses={
                200: {"description": _ANSWERS[question], "content": {JSON: {}}},
                401: {"description": "no valid API key (when the server has keys)"},
                413: {"description": "the body is over the server's limit"},
                422: {"description": "invalid input: {errors: [{path, value, rule}]}"},
                500: {"description": "solver failure: {error}"},
                503: {"description": "stopped at the server's time limit: {error}"},
            },
        )

    @v1.get("/schema/{name}", response_class=Response)
    def schema(name: str) -> Response:
        """A JSON Schema: scenario, plan, sweep or errors (``funnelopt schema NAME``)."""
        try:
            return _json(200, _schema_text(name))
        except InputError as exc:
            return _json(422, usecases.to_json(usecases.errors_document(exc.problems)) + "\n")

    @v1.get("/example/{kind}", response_class=PlainTextResponse)
    def example(kind: str) -> PlainTextResponse:
        """A starter scenario in TOML: full or traffic (``funnelopt example --kind KIND``)."""
        if kind not in ("full", "traffic"):
            raise _Refused(404, "examples: full, traffic")
        return PlainTextResponse(example_text(kind), media_type="application/toml")

    api.include_router(v1)

    @api.get("/healthz")
    def healthz(request: Request) -> dict[str, Any]:
        """Liveness: answers while solves run."""
        pool: SolverPool = request.app.state.pool
        return {"status": "ok", "solvers": pool.size, "busy": pool.running, "idle": pool.idle}

    @api.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGE / "index.html", media_type="text/html")

    api.mount("/page", StaticFiles(directory=PAGE), name="page")
    return api


_ANSWERS = {
    "plan": "the plan, or its diagnosis when the goals cannot be met (GET /v1/schema/plan)",
    "simulate": "the hand-made plan's outcome, objective and gap to the optimum",
    "forecast": "goal and overload probabilities, P5/P50/P95 bands (GET /v1/schema/forecast)",
    "whatif": "{changes, base, whatif}: two plans",
    "sweep": "one point per grid value (GET /v1/schema/sweep)",
    "compare": "{scenarios: [{file, plan}]}",
    "check": "{valid, name, periods, ..., scenario}: the scenario as read",
    "frontier": "efficient plans from the most y to the most x (GET /v1/schema/frontier)",
    "replan": "{estimates, on_track, plan_vs_actual, plan}: calibrated, the past kept, "
    "re-planned (GET /v1/schema/replan)",
}


def _endpoint(solve: Any, question: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await solve(request, question)  # type: ignore[no-any-return]

    endpoint.__name__ = question
    return endpoint


@cache
def _schema_text(name: str) -> str:
    from funnelopt.schemas import schema

    return usecases.to_json(schema(name)) + "\n"
