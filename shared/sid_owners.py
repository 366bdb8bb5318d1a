"""Which record owns a Twilio SID: a SID belongs to at most one record.

Reconciliation matches a lost send by recipient, body and time, so two records with the same
text to the same number could both match one Twilio resource. An insert-only row per SID,
written by whoever first records the SID, makes the first writer the only owner.
"""

from __future__ import annotations

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient

# Never a record id: ids are [A-Za-z0-9_-]; Twilio SIDs are letters and hex digits.
PARTITION_PREFIX = "sid:"
ROW = "owner"


class SidOwners:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def claim(self, sid: str, record_id: str) -> str:
        """Makes ``record_id`` the owner unless the SID has one; returns the owner."""
        entity = {"PartitionKey": PARTITION_PREFIX + sid, "RowKey": ROW, "record_id": record_id}
        try:
            await self._table.create_entity(entity)
        except ResourceExistsError:
            existing = await self._table.get_entity(PARTITION_PREFIX + sid, ROW)
            return str(existing["record_id"])
        return record_id
