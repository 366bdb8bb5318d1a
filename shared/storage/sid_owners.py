"""Which record owns a Twilio SID: a SID belongs to at most one record.

Reconciliation matches a lost send by recipient, body and time, so two records with the same
text to the same number could both match one Twilio resource. An insert-only row per SID,
written by whoever first records the SID, makes the first writer the only owner.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import NamedTuple

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.storage.message_log import NO_ECHO
from shared.storage.table_rows import delete_rows

# Never a record id: ids are [A-Za-z0-9_-]; Twilio SIDs are letters and hex digits.
PARTITION_PREFIX = "sid:"
ROW = "owner"
REMEMBERED = 10_000


class Ownership(NamedTuple):
    owner: str
    # This call wrote the owner row: the gateway had not recorded the SID before.
    first_seen: bool


class SidOwners:
    """The owner rows, and the owners this instance has written or read lately: an owner
    never changes, so a status callback for a send this instance recorded costs no request.
    Twilio's first callback can arrive while the worker is still writing the owner row; it
    waits for that write instead of making its own."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._known: OrderedDict[str, str] = OrderedDict()
        self._claiming: dict[str, asyncio.Task[Ownership]] = {}

    async def claim(self, sid: str, record_id: str) -> str:
        """Makes ``record_id`` the owner unless the SID has one; returns the owner."""
        return (await self._claim_once(sid, record_id)).owner

    async def _claim_once(self, sid: str, record_id: str) -> Ownership:
        task = asyncio.ensure_future(self._claim(sid, record_id))
        self._claiming.setdefault(sid, task)
        try:
            return await task
        finally:
            if self._claiming.get(sid) is task:
                del self._claiming[sid]

    def known(self, sid: str) -> str | None:
        """The owner, if this instance has written or read it; no request."""
        return self._known.get(sid)

    async def ensure(self, sid: str, record_id: str) -> Ownership:
        """``claim``, unless this instance knows the owner or is writing it right now. Says
        whether this call wrote the row, so that a callback for a SID nobody had recorded
        (a send the gateway gave up on) can tell."""
        known = self._known.get(sid)
        if known is not None:
            return Ownership(known, first_seen=False)
        writing = self._claiming.get(sid)
        if writing is not None:
            await asyncio.wait([writing])
            if not writing.cancelled() and writing.exception() is None:
                return Ownership(writing.result().owner, first_seen=False)
        return await self._claim_once(sid, record_id)

    async def owner(self, sid: str) -> str | None:
        """The record that owns ``sid``, if any: one point read (none if remembered)."""
        known = self._known.get(sid)
        if known is not None:
            return known
        try:
            existing = await self._table.get_entity(PARTITION_PREFIX + sid, ROW)
        except ResourceNotFoundError:
            return None
        return self._remember(sid, str(existing["record_id"]))

    async def _claim(self, sid: str, record_id: str) -> Ownership:
        entity = {"PartitionKey": PARTITION_PREFIX + sid, "RowKey": ROW, "record_id": record_id}
        try:
            await self._table.create_entity(entity, response_preference=NO_ECHO)
        except ResourceExistsError:
            existing = await self._table.get_entity(PARTITION_PREFIX + sid, ROW)
            return Ownership(self._remember(sid, str(existing["record_id"])), first_seen=False)
        return Ownership(self._remember(sid, record_id), first_seen=True)

    async def release(self, sids: set[str]) -> None:
        """Deletes the owner rows of a purged or erased record (gone already: no error)."""
        for sid in sids:
            self._known.pop(sid, None)
        await asyncio.gather(
            *(delete_rows(self._table, PARTITION_PREFIX + sid, [ROW]) for sid in sids)
        )

    def _remember(self, sid: str, owner: str) -> str:
        self._known[sid] = owner
        if len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        return owner
