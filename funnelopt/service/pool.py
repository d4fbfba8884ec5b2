"""Solver processes for the service: solves are CPU-bound, so they run in other processes
and the event loop stays free (``/healthz`` answers while they run).

Each slot is a one-process :class:`~concurrent.futures.ProcessPoolExecutor`, so a solve
that passes the time limit can be stopped by killing its own process and replacing the
slot, without touching the solves running in the other slots.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


class Overtime(Exception):
    """A job passed its time limit (it was stopped, or never started)."""

    def __init__(self, started: bool) -> None:
        super().__init__("stopped at the time limit" if started else "no free solver in time")
        self.started = started


def _warm() -> None:
    """Import the optimiser once per process, before the first request."""
    import funnelopt.app  # noqa: F401


class SolverPool:
    """``size`` solver processes; :meth:`run` gives a job to a free one, within a limit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.running = 0
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._free: asyncio.Queue[ProcessPoolExecutor] = asyncio.Queue()
        self._starting: set[asyncio.Future[None]] = set()  # replacements being started

    def _slot(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=self._context, initializer=_warm)

    async def start(self) -> None:
        """Start every process (and import the optimiser in each) before serving."""
        slots = [self._slot() for _ in range(self.size)]
        await asyncio.gather(*(asyncio.wrap_future(s.submit(int)) for s in slots))
        for s in slots:
            self._free.put_nowait(s)

    @property
    def idle(self) -> int:
        """Processes ready for a job now."""
        return self._free.qsize()

    async def run(self, limit: float, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a solver process; :class:`Overtime` when it takes more than
        ``limit`` seconds in all (waiting for a free process included)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            slot = await asyncio.wait_for(self._free.get(), limit)
        except TimeoutError:
            raise Overtime(started=False) from None
        self.running += 1
        try:
            future = slot.submit(fn, *args)
            result = await asyncio.wait_for(
                asyncio.wrap_future(future), max(0.0, deadline - loop.time())
            )
        except TimeoutError:
            _kill(slot)
            self._replace()
            raise Overtime(started=True) from None
        except BrokenProcessPool:  # the process died (killed from outside, out of memory)
            self._replace()
            raise
        except BaseException:
            self._free.put_nowait(slot)
            raise
        finally:
            self.running -= 1
        self._free.put_nowait(slot)
        return result

    def _replace(self) -> None:
        """A new slot in place of a lost one. It serves once its process has started (a
        new process takes a second or so to import the optimiser: no request should wait
        on that)."""

        async def start() -> None:
            slot = self._slot()
            await asyncio.wrap_future(slot.submit(int))
            self._free.put_nowait(slot)

        task = asyncio.ensure_future(start())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    def close(self) -> None:
        """Stop every process (queued jobs are dropped)."""
        while not self._free.empty():
            self._free.get_nowait().shutdown(wait=True, cancel_futures=True)


def _kill(slot: ProcessPoolExecutor) -> None:
    """Stop a slot whose job overran: its one process is killed, not waited for."""
    for process in list(slot._processes.values()):  # the executor has no public handle
        process.kill()
    slot.shutdown(wait=False, cancel_futures=True)
