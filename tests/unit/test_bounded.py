"""A few workers at a time, results in order, an error raised after the others stopped."""

from __future__ import annotations

import asyncio

import pytest

from shared.delivery.bounded import gather_bounded


async def test_results_keep_the_order_of_the_items() -> None:
    async def double(n: int) -> int:
        await asyncio.sleep(0.001 * (n % 3))
        return n * 2

    assert await gather_bounded(double, list(range(50)), limit=4) == [n * 2 for n in range(50)]


async def test_no_more_than_the_limit_run_at_once() -> None:
    running = most = 0

    async def track(_: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001)
        running -= 1

    await gather_bounded(track, list(range(40)), limit=3)

    assert most == 3


class StorageRefusedError(Exception):
    pass


async def test_an_error_is_raised_once_the_other_workers_have_stopped() -> None:
    done: list[int] = []

    async def fail_on_one(n: int) -> None:
        if n == 1:
            raise StorageRefusedError(n)
        await asyncio.sleep(0.001)
        done.append(n)

    with pytest.raises(StorageRefusedError):
        await gather_bounded(fail_on_one, list(range(6)), limit=2)

    assert 5 in done
