"""The server's conversion pool with real processes: a job past its time limit is stopped and
the pool goes on; a full queue refuses at once instead of growing."""

from __future__ import annotations

import asyncio
import time

import pytest

from opsbook.serve.pool import Busy, Pool, TimedOut


def test_a_job_past_its_time_limit_is_stopped_and_the_pool_goes_on() -> None:
    async def scenario() -> int:
        pool = Pool(workers=1, queue=2, timeout=1.0)
        try:
            with pytest.raises(TimedOut):
                await pool.run(time.sleep, 600)
            pool.timeout = 120  # a fresh process loads the converters first: give it time
            return await pool.run(abs, -7)
        finally:
            pool.close()

    assert asyncio.run(scenario()) == 7


def test_a_full_queue_refuses_instead_of_waiting() -> None:
    async def scenario() -> int:
        pool = Pool(workers=1, queue=0, timeout=60)
        try:
            first = asyncio.ensure_future(pool.run(abs, -1))
            await asyncio.sleep(0)  # the first job takes the only place
            with pytest.raises(Busy):
                await pool.run(abs, -3)
            assert await first == 1
            return await pool.run(abs, -2)  # room again once it finished
        finally:
            pool.close()

    assert asyncio.run(scenario()) == 2
