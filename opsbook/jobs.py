"""A bounded process pool that knows nothing of opsbook: func(item) for many items, in
completion order, where a crashed worker fails only the item it held."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from typing import TypeVar

# Tasks queued ahead of the workers, per worker: enough to keep them busy, few enough that a
# batch of any size holds only a handful of pending results.
QUEUE_PER_WORKER = 4

T = TypeVar("T")
R = TypeVar("R")


def default_jobs() -> int:
    return os.cpu_count() or 1


def mp_context() -> BaseContext:
    """fork on Linux (workers start in milliseconds and share the parent's imported modules);
    the platform default (spawn) elsewhere."""
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _worker_start() -> None:
    """Ctrl-C is the parent's to handle: it stops handing out work and lets the few tasks in
    flight finish, instead of every worker printing a traceback. The modules a forked worker
    inherits live as long as it does: freezing them spares the garbage collector from walking
    them again after every workbook (about 5% of a render)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()


def _then_collect(func: Callable[[T], R], item: T) -> R:
    """func(item), then a garbage collection. An openpyxl workbook is a web of reference cycles
    (cells, styles and conditional formats pointing back at their sheet): freed by the collector
    only, whose full passes grow rarer as a long batch goes on, so without this the dead
    workbooks pile up (250 MB after 60 of the sample's, measured). With the modules frozen out of
    the way (`_worker_start`), a collection costs about 3 ms a workbook."""
    try:
        return func(item)
    finally:
        gc.collect()


def run_pool(
    func: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    on_crash: Callable[[T, BaseException | None], R],
) -> Iterator[R]:
    """func(item) for every item, in completion order, on `jobs` processes (in this process when
    jobs is 1). func must not raise; if a worker dies (a crash, the OOM killer), the tasks it may
    have held are re-run one by one in a fresh process, and the one that kills it again gets
    on_crash(item, None); the others carry on."""
    if jobs <= 1 or len(items) <= 1:
        yield from _in_process(func, items)
        return
    pending: deque[T] = deque(items)
    suspects: deque[T] = deque()
    context = mp_context()
    while pending or suspects:
        if suspects:
            yield _alone(func, suspects.popleft(), context, on_crash)
        else:
            yield from _round(func, pending, suspects, jobs, context, on_crash)


def _in_process(func: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
    """func(item) for every item, here, a garbage collection after each (of several)."""
    if len(items) <= 1:
        yield from (func(item) for item in items)
        return
    gc.freeze()  # what this process holds already: not walked again after every item
    try:
        for item in items:
            yield _then_collect(func, item)
    finally:
        gc.unfreeze()


def _alone(
    func: Callable[[T], R],
    item: T,
    context: BaseContext,
    on_crash: Callable[[T, BaseException | None], R],
) -> R:
    """func(item) in a fresh process of its own: a suspect of an earlier crash."""
    with ProcessPoolExecutor(1, mp_context=context, initializer=_worker_start) as solo:
        try:
            return solo.submit(_then_collect, func, item).result()
        except BrokenProcessPool:
            return on_crash(item, None)
        except Exception as exc:  # e.g. a result that cannot be pickled
            return on_crash(item, exc)


def _round(
    func: Callable[[T], R],
    pending: deque[T],
    suspects: deque[T],
    jobs: int,
    context: BaseContext,
    on_crash: Callable[[T, BaseException | None], R],
) -> Iterator[R]:
    """Items from pending on a pool of up to `jobs` workers, a bounded window at a time, until
    pending is empty or a worker dies: then the items in flight become suspects."""
    window = jobs * QUEUE_PER_WORKER
    workers = min(jobs, len(pending))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start) as pool:
        inflight: dict[Future[R], T] = {}
        broken = False
        while (pending or inflight) and not broken:
            while pending and len(inflight) < window:
                item = pending.popleft()
                try:
                    inflight[pool.submit(_then_collect, func, item)] = item
                except BrokenProcessPool:
                    pending.appendleft(item)
                    broken = True
                    break
            if not inflight:
                break
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                item = inflight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    suspects.append(item)
                    broken = True
                    continue
                except Exception as exc:
                    result = on_crash(item, exc)
                yield result
        if broken:
            suspects.extend(inflight.values())
            inflight.clear()
