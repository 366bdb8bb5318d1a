"""SID owners in one instance: one write per SID, also when a callback races the worker."""

from __future__ import annotations

import asyncio
from typing import Any

from azure.core.exceptions import ResourceExistsError

from shared.storage.sid_owners import SidOwners

SID = "SM" + "a" * 32


class SlowTable:
    """Owner rows in memory, each insert taking a moment, as a real one does."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.inserts = 0

    async def create_entity(self, entity: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        self.inserts += 1
        await asyncio.sleep(0.01)
        key = (entity["PartitionKey"], entity["RowKey"])
        if key in self.rows:
            raise ResourceExistsError("exists")
        self.rows[key] = entity
        return {}

    async def get_entity(self, partition: str, row: str) -> dict[str, Any]:
        return self.rows[(partition, row)]


async def test_a_callback_during_the_workers_write_waits_for_it_instead_of_writing() -> None:
    table = SlowTable()
    owners = SidOwners(table)  # type: ignore[arg-type]

    worker = asyncio.create_task(owners.claim(SID, "rec-1"))
    await asyncio.sleep(0)
    from_callback = await owners.ensure(SID, "rec-1")

    assert (await worker, from_callback.owner, table.inserts) == ("rec-1", "rec-1", 1)
    assert not from_callback.first_seen


async def test_an_owner_written_here_costs_a_callback_no_request() -> None:
    table = SlowTable()
    owners = SidOwners(table)  # type: ignore[arg-type]
    await owners.claim(SID, "rec-1")

    assert await owners.ensure(SID, "rec-1") == ("rec-1", False)
    assert table.inserts == 1


async def test_a_sid_nobody_recorded_is_first_seen_by_the_call_that_writes_its_owner() -> None:
    table = SlowTable()

    first = await SidOwners(table).ensure(SID, "rec-1")  # type: ignore[arg-type]
    again = await SidOwners(table).ensure(SID, "rec-1")  # type: ignore[arg-type]

    assert (first, again) == (("rec-1", True), ("rec-1", False))


async def test_the_first_writer_stays_the_owner() -> None:
    table = SlowTable()
    await SidOwners(table).claim(SID, "rec-1")  # type: ignore[arg-type]

    assert await SidOwners(table).claim(SID, "rec-2") == "rec-1"  # type: ignore[arg-type]
