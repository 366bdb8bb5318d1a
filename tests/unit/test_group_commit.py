"""Concurrent writes made as one: batching, errors, limits."""

from __future__ import annotations

import asyncio

import pytest

from shared.platform.group_commit import GroupCommit


class Flushes:
    def __init__(self, failing: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.failing = failing

    async def __call__(self, items: list[str]) -> None:
        self.batches.append(items)
        await asyncio.sleep(0)
        if self.failing == len(self.batches):
            raise OSError("storage is down")


async def test_items_added_together_are_flushed_as_one_batch() -> None:
    flushes = Flushes()
    batch = GroupCommit(flushes, max_items=10)

    await asyncio.gather(*(batch.add(item) for item in "abc"))

    assert flushes.batches == [["a", "b", "c"]]


async def test_a_lone_item_is_flushed_without_waiting_for_company() -> None:
    flushes = Flushes()
    batch = GroupCommit(flushes, max_items=10)

    await asyncio.wait_for(batch.add("a"), timeout=5)

    assert flushes.batches == [["a"]]


async def test_items_that_arrive_during_a_flush_go_in_the_next_one() -> None:
    release = asyncio.Event()
    batches: list[list[str]] = []

    async def slow(items: list[str]) -> None:
        batches.append(items)
        await release.wait()

    batch = GroupCommit(slow, max_items=10)
    first = asyncio.create_task(batch.add("a"))
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(batch.add(item)) for item in "bc"]
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.gather(first, *later)

    assert batches == [["a"], ["b", "c"]]


async def test_a_batch_never_holds_more_than_its_limit() -> None:
    flushes = Flushes()
    batch = GroupCommit(flushes, max_items=2)

    await asyncio.gather(*(batch.add(item) for item in "abcde"))

    assert flushes.batches == [["a", "b"], ["c", "d"], ["e"]]


async def test_a_failed_flush_fails_each_of_its_callers_and_only_them() -> None:
    flushes = Flushes(failing=1)
    batch = GroupCommit(flushes, max_items=2)

    results = await asyncio.gather(*(batch.add(item) for item in "abc"), return_exceptions=True)

    assert [type(result) for result in results] == [OSError, OSError, type(None)]


async def test_a_commit_works_again_after_a_failed_flush() -> None:
    flushes = Flushes(failing=1)
    batch = GroupCommit(flushes, max_items=10)
    with pytest.raises(OSError, match="storage is down"):
        await batch.add("a")

    await batch.add("b")

    assert flushes.batches == [["a"], ["b"]]


async def test_items_behind_a_stuck_flush_are_flushed_beside_it() -> None:
    stuck = asyncio.Event()
    batches: list[list[str]] = []

    async def first_one_hangs(items: list[str]) -> None:
        batches.append(items)
        if items == ["a"]:
            await stuck.wait()

    batch = GroupCommit(first_one_hangs, max_items=10, slow_after=0.05)
    hanging = asyncio.create_task(batch.add("a"))
    await asyncio.sleep(0.01)
    behind = asyncio.gather(*(batch.add(item) for item in "bc"))

    await asyncio.wait_for(behind, timeout=2)

    assert batches == [["a"], ["b", "c"]] and not hanging.done()
    stuck.set()
    await hanging


async def test_stuck_flushes_get_no_more_spares_than_the_limit() -> None:
    stuck = asyncio.Event()
    in_flight = 0
    most = 0

    async def all_hang(items: list[str]) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await stuck.wait()
        in_flight -= 1

    batch = GroupCommit(all_hang, max_items=1, slow_after=0.01, max_drains=3)
    adds = [asyncio.create_task(batch.add(str(n))) for n in range(10)]
    await asyncio.sleep(0.2)
    stuck.set()
    await asyncio.gather(*adds)

    assert most == 3


async def test_an_item_added_as_the_last_drain_ends_is_still_flushed() -> None:
    flushes = Flushes()
    batch = GroupCommit(flushes, max_items=10)

    for item in "abc":
        await asyncio.wait_for(batch.add(item), timeout=2)

    assert flushes.batches == [["a"], ["b"], ["c"]]
