"""Load figures of the HTTP service: one command, one table. Not part of the test suite.

    python benchmarks/service.py            # 300 requests from 1 client, 2 x 800 from 8
    python benchmarks/service.py --quick    # 100 and 200

Starts `funnelopt serve` (a real server process with its solver processes) on a free
local port, sends `POST /v1/plan` with the example scenario from 1 and then 8 concurrent
clients (each with a keep-alive connection), and compares the latency with `app.plan`
on the same scenario in this process. Memory is the resident set of the server and its
solver processes, after a warm-up and again after all the requests.
See docs/performance.md ("The HTTP service") for the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import print_table  # noqa: E402

from funnelopt import Scenario, app  # noqa: E402

EXAMPLE = ROOT / "examples" / "disease_awareness.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def client(port: int, body: bytes, n: int, times: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    for _ in range(n):
        t = time.perf_counter()
        conn.request("POST", "/v1/plan", body, headers)
        r = conn.getresponse()
        r.read()
        times.append(time.perf_counter() - t)
        if r.status != 200:
            errors.append(r.status)
    conn.close()


def load(port: int, body: bytes, clients: int, total: int) -> tuple[list[float], float, int]:
    """Latencies, wall time and error count of ``total`` requests from ``clients``."""
    times: list[float] = []
    errors: list[int] = []
    per = total // clients
    threads = [
        threading.Thread(target=client, args=(port, body, per, times, errors))
        for _ in range(clients)
    ]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return times, time.perf_counter() - t, len(errors)


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if q < 100 else max(xs)


def ms(s: float) -> str:
    return f"{s * 1000:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--rounds", type=int, default=2, help="8-client rounds (memory after each; default 2)"
    )
    args = parser.parse_args()
    one, eight = (100, 200) if args.quick else (300, 800)

    s = Scenario.from_file(EXAMPLE)
    body = json.dumps({"scenario": s.to_dict()}).encode()
    app.plan(s)
    inproc = []
    for _ in range(30):
        t = time.perf_counter()
        app.plan(s)
        inproc.append(time.perf_counter() - t)
    base = statistics.median(inproc)

    port = free_port()
    command = [sys.executable, "-m", "funnelopt", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", str(args.workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        load(port, body, args.workers, 20 * args.workers)  # warm-up
        rss0 = rss_mb(server.pid)
        rows = [("in-process app.plan (example), median of 30", ms(base), "")]
        served = 20 * args.workers
        memory = []
        failed = 0
        for clients, total in ((1, one), *[(8, eight)] * args.rounds):
            times, wall, errors = load(port, body, clients, total)
            served += len(times)
            failed += errors
            memory.append((served, rss_mb(server.pid)))
            if len(memory) > 2:
                continue  # later 8-client rounds only show whether memory keeps growing
            p50, p99 = pct(times, 50), pct(times, 99)
            rows += [
                (f"{clients} client(s): p50 latency", ms(p50), f"{p50 / base:.2f}x in-process"),
                (f"{clients} client(s): p99 latency", ms(p99), f"{p99 / base:.2f}x in-process"),
                (
                    f"{clients} client(s): throughput",
                    f"{len(times) / wall:,.1f} req/s",
                    f"{len(times)} requests, {errors} errors",
                ),
            ]
        rows.append(("errors", f"{failed}", f"of {served:,} requests"))
        rows.append(("memory after warm-up (server + solvers)", f"{rss0:,.0f} MB", ""))
        last = rss0
        for n, rss in memory:
            rows.append(
                (f"memory after {n:,} requests", f"{rss:,.0f} MB", f"{rss - last:+,.1f} MB")
            )
            last = rss
    finally:
        server.terminate()
        server.wait(30)

    print(
        f"# funnelopt service - {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, --workers {args.workers}"
    )
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
