"""Which record owns a Twilio SID: a SID belongs to at most one record.

Reconciliation matches a lost send by recipient, body and time, so two records with the same
text to the same number could both match one Twilio resource. An insert-only row per SID,
written by whoever first records the SID, makes the first writer the only owner.
"""

from __future__ import annotations

from collections import OrderedDict

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient

from shared.message_log import NO_ECHO

# Never a record id: ids are [A-Za-z0-9_-]; Twilio SIDs are letters and hex digits.
PARTITION_PREFIX = "sid:"
ROW = "owner"
REMEMBERED = 10_000


class SidOwners:
    """The owner rows, and the owners this instance has written or read lately: an owner
    never changes, so a status callback for a send this instance recorded costs no request."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._known: OrderedDict[str, str] = OrderedDict()

    async def claim(self, sid: str, record_id: str) -> str:
        """Makes ``record_id`` the owner unless the SID has one; returns the owner."""
        entity = {"PartitionKey": PARTITION_PREFIX + sid, "RowKey": ROW, "record_id": record_id}
        try:
            await self._table.create_entity(entity, response_preference=NO_ECHO)
        except ResourceExistsError:
            existing = await self._table.get_entity(PARTITION_PREFIX + sid, ROW)
            return self._remember(sid, str(existing["record_id"]))
        return self._remember(sid, record_id)

    async def ensure(self, sid: str, record_id: str) -> str:
        """``claim``, unless this instance already knows the owner."""
        known = self._known.get(sid)
        return known if known is not None else await self.claim(sid, record_id)

    def _remember(self, sid: str, owner: str) -> str:
        self._known[sid] = owner
        if len(self._known) > REMEMBERED:
            self._known.popitem(last=False)
        return owner
