"""The HTTP service against a real server on a free local port: the answers are the
CLI's JSON, byte for byte; errors are data; keys, limits and time-outs behave as
docs/service.md says."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from conftest import BASE, EXAMPLES, build
from serving import Reply, call, running

from funnelopt import Scenario
from funnelopt.cli import main
from funnelopt.schemas import schema
from funnelopt.service import MISSING, Config, read_keys

KEY = "test-key-3f9a"
TRAFFIC = EXAMPLES / "traffic_only.toml"
FULL = EXAMPLES / "disease_awareness.toml"


@pytest.fixture(scope="module")
def url() -> Any:
    config = Config(
        api_keys=("other-key", KEY),
        max_body_bytes=300_000,
        max_sweep_points=10,
        cors_origins=("http://allowed.example",),
        workers=2,
    )
    with running(config) as base:
        yield base


def post(url: str, question: str, body: Any, **kw: Any) -> Reply:
    return call(f"{url}/v1/{question}", body, key=KEY, **kw)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The exit code and standard output of the CLI, run in this process."""
    capsys.readouterr()
    code = main([*args, "--format", "json"])
    return code, capsys.readouterr().out


def scenario(path: Path) -> dict[str, Any]:
    return Scenario.from_file(path).to_dict()


# -- the same answers as the CLI -----------------------------------------------------------


def test_plan_is_the_cli_json_byte_for_byte(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli(capsys, "plan", str(FULL))
    assert code == 0
    by_object = post(url, "plan", {"scenario": scenario(FULL)})
    by_text = post(url, "plan", {"scenario": FULL.read_text(encoding="utf-8")})
    assert by_object.status == by_text.status == 200
    assert by_object.headers["content-type"] == "application/json"
    assert by_object.text == by_text.text == out


def test_every_question_is_the_cli_json(
    url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    s = scenario(TRAFFIC)
    spend = {"meta_dark": [2_000.0] * 12}
    plan_file = tmp_path / "agency.json"
    plan_file.write_text(json.dumps(spend))
    t = str(TRAFFIC)
    cases = [
        (
            "whatif",
            {"scenario": s, "set": {"budget.total": 25_000}},
            ("whatif", t, "--set", "budget.total=25000"),
        ),
        (
            "sweep",
            {"scenario": s, "params": ["budget.total"], "values": ["20000,30000"]},
            ("sweep", t, "--param", "budget.total", "--values", "20000,30000"),
        ),
        (
            "compare",
            {"scenarios": {t: s, str(FULL): scenario(FULL)}, "set": {"budget.total": 140_000}},
            ("compare", t, str(FULL), "--set", "budget.total=140000"),
        ),
        ("simulate", {"scenario": s, "plan": spend}, ("simulate", t, str(plan_file))),
        (
            "frontier",
            {"scenario": scenario(FULL), "points": 3},
            ("frontier", str(FULL), "--points", "3", "--quiet"),
        ),
        (
            "replan",
            {"scenario": s, "actuals": (EXAMPLES / "actuals.csv").read_text()},
            ("replan", t, "--actuals", str(EXAMPLES / "actuals.csv")),
        ),
        (
            "forecast",
            {"scenario": scenario(FULL), "draws": 300, "seed": 2},
            ("forecast", str(FULL), "--draws", "300", "--seed", "2"),
        ),
        ("check", {"scenario": s}, ("check", t)),
    ]
    for question, body, args in cases:
        _, out = cli(capsys, *args)
        got = post(url, question, body)
        assert (question, got.status) == (question, 200)
        assert got.text == out, question
        jsonschema.validate(got.json(), schema(question))
    check = json.loads(out)
    assert check["valid"] is True
    assert Scenario.from_dict(check["scenario"]) == Scenario.from_file(TRAFFIC)


def test_schemas_are_the_cli_schemas(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    kinds = ("scenario", "plan", "sweep", "whatif", "compare", "simulate", "forecast", "check")
    for kind in (*kinds, "errors"):
        capsys.readouterr()
        main(["schema", kind])
        assert call(f"{url}/v1/schema/{kind}", key=KEY).text == capsys.readouterr().out
    bad = call(f"{url}/v1/schema/nothing", key=KEY)
    assert bad.status == 422
    assert bad.json()["errors"][0]["path"] == "kind"


def test_openapi_lists_the_endpoints(url: str) -> None:
    doc = call(f"{url}/openapi.json").json()
    for q in (
        "plan",
        "simulate",
        "whatif",
        "sweep",
        "compare",
        "check",
        "frontier",
        "replan",
        "forecast",
    ):
        post_op = doc["paths"][f"/v1/{q}"]["post"]
        schema = post_op["requestBody"]["content"]["application/json"]["schema"]
        assert "time_limit" in schema["properties"], q
    assert "/v1/schema/{name}" in doc["paths"] and "/healthz" in doc["paths"]


# -- errors are data -----------------------------------------------------------------------


def test_invalid_input_is_422_with_every_problem_like_the_cli(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = cli(
        capsys, "plan", str(FULL), "--set", "tactics.meta_drk.cpm=3", "--set", "budget.total=-5"
    )
    assert code == 2
    got = post(
        url,
        "plan",
        {"scenario": scenario(FULL), "set": {"tactics.meta_drk.cpm": 3, "budget.total": -5}},
    )
    assert got.status == 422
    assert got.text == out
    errors = got.json()["errors"]
    assert {e["path"] for e in errors} == {"tactics.meta_drk.cpm", "budget.total"}
    assert all(set(e) == {"path", "value", "rule"} for e in errors)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{not json", "<body>"),
        (b'{"scenario": {}, "backend": "cplex", "tolerance": 2}', "backend"),
        (b'{"set": {}}', "scenario"),
        (b'{"scenario": "periods = \\"many\\""}', "periods"),
        (b"[" * 5000 + b"]" * 5000, "<body>"),
    ],
)
def test_malformed_requests_are_422_naming_the_field(url: str, body: bytes, path: str) -> None:
    got = post(url, "plan", None, raw=body)
    assert got.status == 422
    assert path in [e["path"] for e in got.json()["errors"]]
    assert "Traceback" not in got.text


def test_infeasible_goals_are_an_answer_not_an_error(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = cli(capsys, "plan", str(TRAFFIC), "--set", "goals[0].target=1000")
    assert code == 1
    got = post(url, "plan", {"scenario": scenario(TRAFFIC), "set": {"goals[0].target": 1000}})
    assert got.status == 200
    assert got.json()["status"] == "infeasible"
    assert got.json()["diagnosis"]["required_budget"] > 30_000
    assert got.text == out


def test_a_time_limit_too_short_for_any_plan_is_an_answer_not_an_error(url: str) -> None:
    """A time limit far too short for any solve: an unproven 'infeasible' that says to
    allow more time (it was a 500 'solver failure' before; the time limit promises an
    answer, never an error)."""
    got = post(url, "plan", {"scenario": scenario(FULL), "time_limit": 1e-6})
    assert got.status == 200
    cert = got.json()["certificate"]
    assert got.json()["status"] == "infeasible" and not cert["proven"]
    assert cert["stopped"] == "time" and "allow more time" in cert["text"]


def test_solver_failure_is_500_with_a_message_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real solver fault (not the clock) answers 500 with a message, no traceback."""
    from funnelopt.errors import SolverError
    from funnelopt.service import answers

    def failing(_data: Any, _limits: Any) -> Any:
        raise SolverError("highs failed: no status")

    monkeypatch.setitem(answers.QUESTIONS, "plan", failing)
    status, text = answers.answer("plan", b"{}", answers.Limits())
    assert status == 500
    assert json.loads(text) == {"error": "solver failure: highs failed: no status"}


# -- safe to expose ------------------------------------------------------------------------


def test_keys_are_required_and_checked(url: str) -> None:
    body = {"scenario": scenario(TRAFFIC)}
    for key in (None, "wrong", KEY + "x", ""):
        got = call(f"{url}/v1/plan", body, key=key)
        assert got.status == 401, key
        assert got.headers["www-authenticate"] == "Bearer"
        assert KEY not in got.text
    assert call(f"{url}/v1/plan", body, headers={"Authorization": f"Basic {KEY}"}).status == 401
    assert call(f"{url}/v1/plan", body, key="other-key").status == 200
    assert call(f"{url}/healthz").status == 200  # liveness needs no key


def test_read_keys(tmp_path: Path) -> None:
    f = tmp_path / "keys"
    f.write_text("# agency tools\nalpha\n\n  beta  \n")
    assert read_keys(f) == ("alpha", "beta")
    f.write_text("# none\n")
    with pytest.raises(ValueError, match="holds no key"):
        read_keys(f)


def send(url: str, headers: dict[str, str], payload: bytes) -> Reply:
    """A POST to /v1/plan written by hand (urllib would send a body the server refuses)."""
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=60)
    conn.putrequest("POST", "/v1/plan")
    for k, v in {"Authorization": f"Bearer {KEY}", **headers}.items():
        conn.putheader(k, v)
    conn.endheaders()
    conn.send(payload)
    r = conn.getresponse()
    reply = Reply(r.status, r.read(), dict(r.headers))
    conn.close()
    return reply


def test_bodies_over_the_limit_are_413(url: str) -> None:
    # Refused on its Content-Length, before the body is read:
    got = send(url, {"Content-Length": "400000", "Content-Type": "application/json"}, b"")
    assert got.status == 413
    assert "300,000 bytes" in got.json()["error"]
    # Sent in chunks, with no Content-Length to go by: refused when it passes the limit.
    chunk = b" " * 50_001
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    assert send(url, {"Transfer-Encoding": "chunked"}, chunked).status == 413
    # Just under the limit, the same way, the body is read (and found not to be JSON).
    small = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    assert send(url, {"Transfer-Encoding": "chunked"}, small).status == 422


def test_sweeps_are_bounded(url: str) -> None:
    body = {"scenario": scenario(TRAFFIC), "params": ["budget.total"], "values": ["1:2:11"]}
    got = post(url, "sweep", body)
    assert got.status == 422
    assert "at most 10" in got.json()["errors"][0]["rule"]


def test_cors_only_for_configured_origins(url: str) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = call(
        f"{url}/v1/plan",
        method="OPTIONS",
        headers={"Origin": "http://allowed.example", **preflight},
    )
    assert ok.headers.get("access-control-allow-origin") == "http://allowed.example"
    other = call(
        f"{url}/v1/plan", method="OPTIONS", headers={"Origin": "http://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in {k.lower() for k in other.headers}


def test_concurrent_requests_answer_like_serial_ones(url: str) -> None:
    bodies = [
        {"scenario": scenario(TRAFFIC), "set": {"budget.total": b}}
        for b in (15_000, 20_000, 25_000, 30_000, 35_000, 40_000)
    ]
    serial = [post(url, "plan", b).text for b in bodies]
    with ThreadPoolExecutor(len(bodies)) as ex:
        together = list(ex.map(lambda b: post(url, "plan", b).text, bodies))
    assert together == serial
    assert len(set(serial)) == len(serial)  # the budgets gave different plans


def test_the_page_and_its_files_are_served(url: str) -> None:
    page = call(f"{url}/")
    assert page.status == 200 and '<svg id="chart"' in page.text
    assert "http" not in page.text.split("<body>")[1].replace('href="openapi.json"', "")
    for name in ("page.js", "page.css"):
        assert call(f"{url}/page/{name}").status == 200
    example = call(f"{url}/v1/example/full", key=KEY)
    assert example.text == (EXAMPLES / "disease_awareness.toml").read_text(encoding="utf-8")


# -- time limits ---------------------------------------------------------------------------


def heavy() -> dict[str, Any]:
    """52 weeks x 400 tactics: even told to stop at a quarter of a second, the optimiser
    takes more than a second (building its models), so the server must stop it."""
    dark = BASE["tactics"][0]
    tactics = [
        {
            **dark,
            "id": f"t{j}",
            "cpm": 6 + (j * 7) % 14,
            "pool": 200_000 + (j * 37_000) % 1_000_000,
            "ctr": 0.004 + (j % 11) * 0.001,
        }
        for j in range(400)
    ]
    return build(
        periods=52,
        population=4_000_000,
        budget={"total": 8_000_000},
        tactics=tactics,
        goals=[{"metric": "reach_share", "target": 0.2, "by": 17}],
    )


def test_past_the_time_limit_503_and_the_server_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with running(Config(time_limit=0.5, workers=1)) as base:
        answers: list[Reply] = []
        slow = threading.Thread(
            target=lambda: answers.append(call(f"{base}/v1/plan", {"scenario": heavy()}))
        )
        slow.start()
        # /healthz answers while the solve runs (it is in another process).
        seen_busy = False
        while slow.is_alive() and not seen_busy:
            seen_busy = call(f"{base}/healthz").json()["busy"] == 1
        slow.join()
        assert seen_busy
        (got,) = answers
        assert got.status == 503
        assert "time limit (0.5 s)" in got.json()["error"]
        assert got.headers["retry-after"] == "5"
        # The stopped solve's process is replaced; then the next question is answered.
        for _ in range(1000):
            if call(f"{base}/healthz").json()["idle"] == 1:
                break
            time.sleep(0.01)
        _, out = cli(capsys, "plan", str(TRAFFIC))
        after = call(f"{base}/v1/plan", {"scenario": scenario(TRAFFIC)})
        assert after.status == 200
        assert after.text == out


def test_serve_refuses_bad_options_like_every_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers = 0: must be in 1..256" in capsys.readouterr().err
    assert main(["serve", "--api-key-file", str(tmp_path / "none")]) == 2
    assert "--api-key-file" in capsys.readouterr().err


# -- without the extra ---------------------------------------------------------------------


def test_without_the_service_extra_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from funnelopt import service

    monkeypatch.delitem(sys.modules, "funnelopt.service.api", raising=False)
    monkeypatch.setitem(sys.modules, "fastapi", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install funnelopt\[service\]"):
        service.create_app()
    assert "pip install funnelopt[service]" in MISSING


def test_importing_funnelopt_and_the_cli_does_not_import_the_service() -> None:
    code = "import sys, funnelopt, funnelopt.cli; print('fastapi' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"
