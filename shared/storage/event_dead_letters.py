"""Events that a destination never took: kept per UTC day, newest first, until replayed.

Partition ``<yyyy-mm-dd>`` (the day the event was dead-lettered), row key ``<inverted
microseconds>-<random>``: a day's list is one partition read in key order, newest first,
and listing or replaying a day never reads another. Finding what to retry never reads this
table: retries travel on the events queue; this is only where they end.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.storage.message_log import NO_ECHO

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVERT_FROM = 10**17 - 1
MAX_PAGE = 100


@dataclass(frozen=True)
class DeadLetter:
    destination: str
    event: dict[str, Any]
    reason: str
    attempts: int
    first_failed_at: datetime
    dead_at: datetime
    url: str | None = None
    day: str = ""
    key: str = ""

    def as_json(self) -> dict[str, Any]:
        """What the dead-letter API shows; a callback's URL is the producer's own."""
        data: dict[str, Any] = {
            "day": self.day,
            "key": self.key,
            "destination": self.destination,
            "event_id": self.event.get("id"),
            "type": self.event.get("type"),
            "subject": self.event.get("subject"),
            "reason": self.reason,
            "attempts": self.attempts,
            "first_failed_at": self.first_failed_at.isoformat(),
            "dead_at": self.dead_at.isoformat(),
            "event": self.event,
        }
        if self.url is not None:
            data["callback_url"] = self.url
        return data


def _row_key(at: datetime) -> str:
    micros = (at - _EPOCH) // _MICROSECOND
    return f"{_INVERT_FROM - micros:017d}-{secrets.token_hex(4)}"


_MICROSECOND = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _from_entity(entity: Any) -> DeadLetter:
    return DeadLetter(
        destination=str(entity["destination"]),
        event=json.loads(entity["event"]),
        reason=str(entity.get("reason", "")),
        attempts=int(entity.get("attempts", 0)),
        first_failed_at=entity["first_failed_at"],
        dead_at=entity["dead_at"],
        url=entity.get("url"),
        day=str(entity["PartitionKey"]),
        key=str(entity["RowKey"]),
    )


class DeadLetterStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def add(self, letter: DeadLetter) -> DeadLetter:
        day = letter.dead_at.astimezone(UTC).date().isoformat()
        key = _row_key(letter.dead_at)
        entity: dict[str, Any] = {
            "PartitionKey": day,
            "RowKey": key,
            "destination": letter.destination,
            "event": json.dumps(letter.event, ensure_ascii=False, separators=(",", ":")),
            "reason": letter.reason[:1000],
            "attempts": letter.attempts,
            "first_failed_at": letter.first_failed_at,
            "dead_at": letter.dead_at,
        }
        if letter.url is not None:
            entity["url"] = letter.url
        await self._table.create_entity(entity, response_preference=NO_ECHO)
        return DeadLetter(**{**vars(letter), "day": day, "key": key})

    async def page(
        self, day: date, limit: int, after: str | None = None
    ) -> tuple[list[DeadLetter], str | None]:
        """Up to ``limit`` of the day's letters, newest first, after the row key ``after``;
        with the key to continue after, or None at the day's end."""
        query = "PartitionKey eq @day"
        parameters: dict[str, Any] = {"day": day.isoformat()}
        if after is not None:
            query += " and RowKey gt @after"
            parameters["after"] = after
        found: list[DeadLetter] = []
        pages = self._table.query_entities(
            query, parameters=parameters, results_per_page=min(limit + 1, MAX_PAGE + 1)
        ).by_page()
        async for page in pages:
            async for entity in page:
                found.append(_from_entity(entity))
            if len(found) > limit:
                break
        if len(found) > limit:
            return found[:limit], found[limit - 1].key
        return found, None

    async def get(self, day: str, key: str) -> DeadLetter | None:
        try:
            return _from_entity(await self._table.get_entity(day, key))
        except ResourceNotFoundError:
            return None

    async def delete(self, letter: DeadLetter) -> None:
        await self._table.delete_entity(letter.day, letter.key)
