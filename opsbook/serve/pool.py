"""Conversions in a bounded pool of processes: at most `workers` run at once, at most `queue`
wait, each has a time limit. A full queue is refused at once (the caller answers 503 with
Retry-After) rather than letting memory grow with the backlog."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")


class Busy(Exception):
    """The queue is full, or the pool broke under the request: try again later."""


class TimedOut(Exception):
    """A conversion ran past its time limit and its process was stopped."""


def _warm() -> None:
    """Load the converters once per process, not on the first upload, and freeze them out of
    the garbage collector's way (as the batch workers do, opsbook/batch.py). Ctrl-C is the
    server's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import generator.docx_writer
    import generator.xlsx_writer  # noqa: F401
    import opsbook.serve.convert  # noqa: F401
    import workbook.reader  # noqa: F401
    from workbook import spec

    spec.load()
    gc.freeze()


def _then_collect(func: Callable[..., T], *args: Any) -> T:
    """func(*args), then a garbage collection: a dead openpyxl workbook is a web of reference
    cycles that only the collector frees, and without this they pile up in a long-lived
    worker (measured: 754 MB for the server's tree after 200 uploads; see opsbook/batch.py)."""
    try:
        return func(*args)
    finally:
        gc.collect()


class Pool:
    def __init__(self, workers: int, queue: int, timeout: float) -> None:
        self.workers = max(1, workers)
        self.limit = self.workers + max(0, queue)
        self.timeout = timeout
        self.in_flight = 0
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # spawn: the server process runs threads (uvicorn, the database); forking it is unsafe.
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm
        )

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is not broken:
            return  # another request restarted it already
        for process in list(getattr(broken, "_processes", {}).values()):
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """func(*args) in a conversion process; Busy when the queue is full, TimedOut past the
        time limit (the stuck process is killed and the pool started again)."""
        if self.in_flight >= self.limit:
            raise Busy
        # The limit runs from submission, so a job waiting behind others gets their turns too.
        waiting_rounds = self.in_flight // self.workers
        self.in_flight += 1
        executor = self._executor
        try:
            limit = self.timeout * (1 + waiting_rounds)
            try:
                # submit itself refuses once the executor knows a worker died between jobs
                future = executor.submit(_then_collect, func, *args)
                return await asyncio.wait_for(asyncio.wrap_future(future), limit)
            except asyncio.TimeoutError:
                self._restart(executor)
                raise TimedOut from None
            except BrokenProcessPool:
                self._restart(executor)
                raise Busy from None
        finally:
            self.in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
