"""Destinations switched off because they answered 410 Gone: one small row each.

A subscription from the settings is named with a digest of its URL, so setting a new URL
switches it on again; the rows are few and read once in a while, never per event.
"""

from __future__ import annotations

from datetime import UTC, datetime

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

PARTITION = "off"


class EventSwitches:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def off(self) -> set[str]:
        entities = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})
        return {str(entity["RowKey"]) async for entity in entities}

    async def switch_off(self, key: str, name: str, reason: str) -> None:
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": key,
            "name": name,
            "reason": reason[:1000],
            "at": datetime.now(UTC),
        }
        await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
