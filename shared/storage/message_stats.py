"""Counts of what happened per UTC day, kept as records move, so totals never scan the log.

Table Storage has no atomic increment, and a read-modify-write of a shared counter would cost
two requests per status and fight over one ETag. Instead every status a record reaches adds
one small row, insert-only, to its day's partition: row key ``<kind>~<direction>~<status>~
<hash of the id>``. The key makes a repeat (Twilio retrying a callback, a status check
confirming what a callback said) land on the same row, so each record counts once per status;
rows of the same moment share one entity-group transaction (``group_commit``), so a busy
instance pays one request per batch, not per status.

Reading a day sums its rows (a thousand per request). A day is closed once the next one has
ended, since rows are written at the moment of the status: its sums are then stored in one
``~totals`` row, and every later load reads that row alone. The rows hold no number, body or
id (a hash of the id only), so they outlive the log's retention purge.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.platform import logs
from shared.platform.group_commit import GroupCommit

TOTALS = "~totals"
ACCEPTED = "accepted"
DELIVERED = "delivered"
WITHIN_10S = "within_10s"
FAST_SECONDS = 10.0
SEPARATOR = "~"
MAX_ROWS_PER_BATCH = 100
NO_ECHO = "return-no-content"


@dataclass(frozen=True)
class StatusCount:
    """One record reaching one status, at a moment, with Twilio's error code if any."""

    record_id: str
    kind: str
    direction: str
    status: str
    at: datetime
    error_code: int | None = None


def partition(day: date) -> str:
    return f"{day:%Y%m%d}"


def _record_hash(record_id: str) -> str:
    return hashlib.sha256(record_id.encode()).hexdigest()[:20]


def count_key(kind: str, direction: str, status: str, error_code: int | None = None) -> str:
    """How a count is named in a day's totals: ``sms~outbound~failed~30003``."""
    code = "" if error_code is None else str(error_code)
    return SEPARATOR.join((kind, direction, status, code))


def count_entity(count: StatusCount) -> dict[str, Any]:
    at = count.at.astimezone(UTC)
    key = SEPARATOR.join((count.kind, count.direction, count.status, _record_hash(count.record_id)))
    entity: dict[str, Any] = {"PartitionKey": partition(at.date()), "RowKey": key, "at": at}
    if count.error_code is not None:
        entity["code"] = count.error_code
    return entity


@dataclass
class DayTotals:
    """A day's counts by ``count_key``, plus how many were delivered within 10 s of accept."""

    day: date
    counts: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "counts": dict(sorted(self.counts.items()))}


def sum_rows(day: date, rows: Iterable[dict[str, Any]]) -> DayTotals:
    """Counts the rows of one day; a delivered row whose record was accepted the same day at
    most 10 s before also counts towards ``<kind>~<direction>~within_10s~``."""
    totals = DayTotals(day)
    accepted_at: dict[tuple[str, str, str], datetime] = {}
    delivered: list[tuple[tuple[str, str, str], datetime]] = []
    for row in rows:
        kind, direction, status, record = str(row["RowKey"]).split(SEPARATOR, 3)
        code = row.get("code")
        error_code = int(code) if code is not None else None
        totals.counts[count_key(kind, direction, status, error_code)] += 1
        if status == ACCEPTED:
            accepted_at[(kind, direction, record)] = row["at"]
        elif status == DELIVERED:
            delivered.append(((kind, direction, record), row["at"]))
    for key, at in delivered:
        start = accepted_at.get(key)
        if start is not None and (at - start).total_seconds() <= FAST_SECONDS:
            totals.counts[count_key(key[0], key[1], WITHIN_10S)] += 1
    return totals


class MessageStats:
    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._batch: GroupCommit[dict[str, Any]] = GroupCommit(self._insert, MAX_ROWS_PER_BATCH)
        self.reads = 0

    async def count(self, count: StatusCount) -> None:
        """Adds one status to its day. A failure is logged, never raised: the record and its
        send are fine, and only the totals are one short."""
        try:
            await self._batch.add(count_entity(count))
        except AzureError as exc:
            logs.error("stats_write_failed", id=count.record_id, error=type(exc).__name__)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        partitions: dict[str, dict[str, dict[str, Any]]] = {}
        for row in rows:
            partitions.setdefault(row["PartitionKey"], {})[row["RowKey"]] = row
        for same_day in partitions.values():
            if len(same_day) > 1:
                try:
                    await self._table.submit_transaction(
                        [("create", row) for row in same_day.values()]
                    )
                    continue
                except AzureError as exc:
                    # All or nothing: a row already there (a repeat) sinks the batch.
                    logs.info("stats_batch_retried_one_by_one", error=type(exc).__name__)
            for row in same_day.values():
                try:
                    await self._table.create_entity(row, response_preference=NO_ECHO)
                except ResourceExistsError:
                    continue

    async def days(self, first: date, last: date, today: date) -> list[DayTotals]:
        """Totals of each day from ``first`` to ``last``, newest first, read together."""
        days = [last - timedelta(days=n) for n in range((last - first).days + 1)]
        yesterday = today - timedelta(days=1)
        return list(await asyncio.gather(*(self.day(day, closed=day < yesterday) for day in days)))

    async def day(self, day: date, closed: bool) -> DayTotals:
        """One read for a closed day whose totals are stored; else its rows, summed (and
        stored, once the day is closed)."""
        if closed:
            stored = await self._stored_totals(day)
            if stored is not None:
                return stored
        rows: list[dict[str, Any]] = []
        pages = self._table.query_entities(
            "PartitionKey eq @pk and RowKey lt @totals",
            parameters={"pk": partition(day), "totals": TOTALS},
            select=["RowKey", "at", "code"],
            results_per_page=1000,
        ).by_page()
        async for page in pages:
            self.reads += 1
            rows.extend([row async for row in page])
        totals = sum_rows(day, rows)
        if closed:
            await self._store_totals(totals)
        return totals

    async def _stored_totals(self, day: date) -> DayTotals | None:
        self.reads += 1
        try:
            entity = await self._table.get_entity(partition(day), TOTALS)
        except ResourceNotFoundError:
            return None
        return DayTotals(day, Counter(json.loads(entity["counts"])))

    async def _store_totals(self, totals: DayTotals) -> None:
        entity = {
            "PartitionKey": partition(totals.day),
            "RowKey": TOTALS,
            "counts": json.dumps(dict(totals.counts), separators=(",", ":")),
        }
        try:
            await self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            day = totals.day.isoformat()
            logs.warning("stats_totals_not_stored", day=day, error=type(exc).__name__)
