"""What outlives the records: each purged day's counts, and the Twilio deletions still owed.

Table ``Retention`` holds no personal data. A day's statistics are one row, inserted once and
never replaced: the first purge of a day writes them before it deletes anything, so a second
purge running at the same time, or a rerun after a crash that read a half-deleted day, finds
the row there and leaves it alone. A Twilio deletion Twilio could not do yet (20009: the
resource is not final) waits here under its SID for the next run of the purge.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.domain.records import utcnow
from shared.storage.message_log import NO_ECHO
from shared.storage.table_rows import delete_rows

STATS_PARTITION = "stats"
DELETIONS_PARTITION = "twilio-deletions"
FLAGS_PARTITION = "flags"

StatsKey = tuple[str, str, int | None]
"""direction, final status, error code"""


@dataclass(frozen=True)
class DayStats:
    kind: str
    day: date
    counts: Mapping[StatsKey, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "day": self.day.isoformat(),
            "total": sum(self.counts.values()),
            "counts": [
                {"direction": d, "status": s, "error_code": c, "count": n}
                for (d, s, c), n in sorted(self.counts.items(), key=str)
            ],
        }


@dataclass(frozen=True)
class PendingDeletion:
    sid: str
    resource: str  # "sms", "call" or "recording"
    attempts: int


def _stats_row(kind: str, day: date) -> str:
    return f"{kind}-{day:%Y%m%d}"


class RetentionStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def has_stats(self, kind: str, day: date) -> bool:
        try:
            await self._table.get_entity(STATS_PARTITION, _stats_row(kind, day), select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    async def keep_stats(self, stats: DayStats) -> bool:
        """Inserts the day's counts; False when a purge before this one kept them already."""
        entity = {
            "PartitionKey": STATS_PARTITION,
            "RowKey": _stats_row(stats.kind, stats.day),
            "counts": json.dumps(stats.as_json()["counts"], separators=(",", ":")),
            "kept_at": utcnow(),
        }
        try:
            await self._table.create_entity(entity, response_preference=NO_ECHO)
        except ResourceExistsError:
            return False
        return True

    async def stats(self, kind: str, since: date, until: date) -> list[DayStats]:
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey le @hi",
            parameters={"pk": STATS_PARTITION, "lo": _stats_row(kind, since),
                        "hi": _stats_row(kind, until)},
        )  # fmt: skip
        found = []
        async for row in rows:
            day = datetime.strptime(str(row["RowKey"])[len(kind) + 1 :], "%Y%m%d")
            counts = {
                (item["direction"], item["status"], item["error_code"]): int(item["count"])
                for item in json.loads(row["counts"])
            }
            found.append(DayStats(kind, day.replace(tzinfo=UTC).date(), counts))
        return found

    async def done_days(self, work: str, kind: str, since: date, before: date) -> set[date]:
        """The days of ``kind`` in [since, before) that ``work`` (e.g. "redacted") has done."""
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": work, "lo": _stats_row(kind, since), "hi": _stats_row(kind, before)},
            select=["RowKey"],
        )
        found = set()
        async for row in rows:
            day = datetime.strptime(str(row["RowKey"])[len(kind) + 1 :], "%Y%m%d")
            found.add(day.replace(tzinfo=UTC).date())
        return found

    async def mark_done(self, work: str, kind: str, day: date) -> None:
        entity = {"PartitionKey": work, "RowKey": _stats_row(kind, day)}
        await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def is_flagged(self, name: str) -> bool:
        try:
            await self._table.get_entity(FLAGS_PARTITION, name, select=["RowKey"])
        except ResourceNotFoundError:
            return False
        return True

    async def flag(self, name: str) -> None:
        entity = {"PartitionKey": FLAGS_PARTITION, "RowKey": name, "at": utcnow()}
        await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def owe_deletion(self, sid: str, resource: str) -> None:
        entity = {"PartitionKey": DELETIONS_PARTITION, "RowKey": sid, "resource": resource}
        with contextlib.suppress(ResourceExistsError):  # owed already: its attempts stand
            await self._table.create_entity({**entity, "attempts": 0}, response_preference=NO_ECHO)

    async def owed_deletions(self, limit: int) -> list[PendingDeletion]:
        rows = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": DELETIONS_PARTITION}, results_per_page=limit
        )
        found: list[PendingDeletion] = []
        async for row in rows:
            found.append(
                PendingDeletion(str(row["RowKey"]), str(row["resource"]), int(row["attempts"]))
            )
            if len(found) == limit:
                break
        return found

    async def deletion_tried(self, owed: PendingDeletion) -> None:
        await self._table.upsert_entity(
            {
                "PartitionKey": DELETIONS_PARTITION,
                "RowKey": owed.sid,
                "resource": owed.resource,
                "attempts": owed.attempts + 1,
            },
            mode=UpdateMode.REPLACE,
        )

    async def deletion_done(self, sid: str) -> None:
        await delete_rows(self._table, DELETIONS_PARTITION, [sid])
