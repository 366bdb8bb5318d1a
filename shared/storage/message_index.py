"""A time index of the log, so that lists read a few partitions instead of the whole table.

The log keeps one partition per id, which makes every read and write of one record cheap but
leaves no order to list by. Table ``MessageIndex`` adds one small row per record, written
once when the record is created: partition ``<kind>-<yyyymmdd>`` (the UTC day it was
created), row key ``<inverted microseconds>-<id>``, so a partition reads newest first and a
time range is a row key range. Direction and numbers are on the row to filter on; the status
changes too often to copy here and is read from the record's summary.

Rows written at the same time share a partition (the day), so they go in one entity-group
transaction (``group_commit``): a busy instance pays one request per batch, not per record.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables.aio import TableClient

from shared.domain.records import LogRecord
from shared.platform import logs
from shared.platform.group_commit import GroupCommit
from shared.platform.json_text import InvalidJsonError, parse_json
from shared.storage.message_log import NO_ECHO

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVERT_FROM = 10**17 - 1
DAYS_PER_PAGE = 31
# Table Storage takes at most 100 operations in one entity-group transaction.
MAX_ROWS_PER_BATCH = 100


# The shapes this index writes: a token is base64url of {"d": <day>, "r": <row key>|null}.
MAX_TOKEN_CHARS = 200
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_TOKEN_CHARS}}}\Z")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_ROW_KEY = re.compile(r"([0-9]{17})-[A-Za-z0-9_-]{1,64}\Z")


class InvalidContinuationError(ValueError):
    """A continuation token this index did not hand out; the message says which rule."""


@dataclass(frozen=True)
class IndexQuery:
    """Newest first, created in [since, until]; direction and number are matched exactly."""

    kind: str
    since: datetime
    until: datetime
    direction: str | None = None
    number: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Position:
    """Where the next page starts: a day partition and the last row key already returned."""

    day: date
    after_row: str | None = None

    def token(self) -> str:
        raw = json.dumps({"d": self.day.isoformat(), "r": self.after_row}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> Position:
        """Only the shapes ``token`` writes: whatever else arrives is a named refusal, never
        an exception from the decoder or, later, from the Tables SDK encoding the filter."""
        if not _TOKEN.fullmatch(token):
            raise InvalidContinuationError(
                f"a token is up to {MAX_TOKEN_CHARS} base64url characters"
            )
        try:
            data = parse_json(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError, InvalidJsonError):
            raise InvalidContinuationError("the token is not base64url of JSON") from None
        if not isinstance(data, dict) or set(data) != {"d", "r"}:
            raise InvalidContinuationError("the token does not hold a day and a row")
        day, after = data["d"], data["r"]
        if not (isinstance(day, str) and _DAY.fullmatch(day)):
            raise InvalidContinuationError("the token's day is not a date like 2026-11-26")
        try:
            parsed_day = date.fromisoformat(day)
        except ValueError:
            raise InvalidContinuationError("the token's day is not a date") from None
        if after is not None and not (isinstance(after, str) and _ROW_KEY.fullmatch(after)):
            raise InvalidContinuationError("the token's row is not a row of this index")
        return cls(parsed_day, after)

    def check_within(self, since: datetime, until: datetime) -> None:
        """A token belongs to the range it was handed out for: its day and its row's time
        lie inside [since, until], so a page never walks days the request did not ask for."""
        if not since.astimezone(UTC).date() <= self.day <= until.astimezone(UTC).date():
            raise InvalidContinuationError("the token's day is outside 'since' to 'until'")
        if self.after_row is None:
            return
        match = _ROW_KEY.fullmatch(self.after_row)
        assert match is not None
        inverted = int(match.group(1))
        at = _EPOCH + timedelta(microseconds=_INVERT_FROM - inverted)
        in_range = _inverted(until.astimezone(UTC)) <= inverted <= _inverted(since.astimezone(UTC))
        if not in_range or at.date() != self.day:
            raise InvalidContinuationError("the token's row is outside its day or the range")


@dataclass(frozen=True)
class IndexEntry:
    """One row of a page: its record's id, and where a page that ends with it continues."""

    id: str
    after: Position


def _inverted(at: datetime) -> int:
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    return _INVERT_FROM - micros


def partition(kind: str, day: date) -> str:
    return f"{kind}-{day:%Y%m%d}"


def row_key(created_at: datetime, record_id: str) -> str:
    return f"{_inverted(created_at):017d}-{record_id}"


def index_entity(record: LogRecord) -> dict[str, Any]:
    created = record.created_at.astimezone(UTC)
    entity: dict[str, Any] = {
        "PartitionKey": partition(record.kind, created.date()),
        "RowKey": row_key(created, record.id),
        "id": record.id,
        "direction": record.direction,
        "to": record.to,
        "created_at": created,
    }
    if record.from_:
        entity["from_"] = record.from_
    if record.tag is not None:
        entity["tag"] = record.tag
    return entity


class MessageIndex:
    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._batch: GroupCommit[dict[str, Any]] = GroupCommit(self._insert, MAX_ROWS_PER_BATCH)

    async def add(self, record: LogRecord) -> None:
        """One row per record, after the record is safely in the log.

        A failure is logged, not raised: the record and its send are fine and only missing
        from lists, while raising would answer the sender an error for a request that is
        already accepted.
        """
        await self._batch.add(index_entity(record))

    async def remove(self, record: LogRecord) -> None:
        """Takes back the row ``add`` wrote for this very record object (same creation time):
        for a repeat whose record was already there, so that it is not listed twice."""
        row = index_entity(record)
        try:
            await self._table.delete_entity(row["PartitionKey"], row["RowKey"])
        except AzureError as exc:
            logs.error("index_row_not_removed", id=record.id, error=type(exc).__name__)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        partitions: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            partitions.setdefault(row["PartitionKey"], []).append(row)
        for same_day in partitions.values():
            if len(same_day) > 1:
                try:
                    await self._table.submit_transaction([("create", row) for row in same_day])
                    continue
                except AzureError as exc:
                    # All or nothing: one row already there (a repeat) sinks the batch.
                    logs.info("index_batch_retried_one_by_one", error=type(exc).__name__)
            for row in same_day:
                await self._insert_one(row)

    async def _insert_one(self, row: dict[str, Any]) -> None:
        try:
            await self._table.create_entity(row, response_preference=NO_ECHO)
        except ResourceExistsError:
            return
        except AzureError as exc:
            logs.error("index_write_failed", id=row["id"], error=type(exc).__name__)

    async def page(
        self, query: IndexQuery, limit: int, start: Position | None = None
    ) -> tuple[list[str], Position | None]:
        """Up to ``limit`` ids, newest first, and where the next page starts (None: done).

        A page reads at most ``DAYS_PER_PAGE`` day partitions, so a sparse range can give a
        short (even empty) page with a continuation, as Azure's own list APIs do.
        """
        entries, position = await self.entries(query, limit, start)
        return [entry.id for entry in entries], position

    async def entries(
        self, query: IndexQuery, limit: int, start: Position | None = None
    ) -> tuple[list[IndexEntry], Position | None]:
        """``page`` with the position after each row, for callers that may stop mid-page."""
        first_day = query.since.astimezone(UTC).date()
        day = start.day if start else query.until.astimezone(UTC).date()
        after_row = start.after_row if start else None
        entries: list[IndexEntry] = []
        for _ in range(DAYS_PER_PAGE):
            if day < first_day:
                return entries, None
            async for entity in self._rows(query, day, after_row, limit - len(entries)):
                entries.append(IndexEntry(str(entity["id"]), Position(day, str(entity["RowKey"]))))
                if len(entries) == limit:
                    return entries, entries[-1].after
            day, after_row = day - timedelta(days=1), None
        return entries, (Position(day) if day >= first_day else None)

    def _rows(
        self, query: IndexQuery, day: date, after_row: str | None, wanted: int
    ) -> AsyncIterator[dict[str, Any]]:
        newest = f"{_inverted(query.until.astimezone(UTC)):017d}"
        past_oldest = f"{_inverted(query.since.astimezone(UTC)) + 1:017d}"
        clauses = ["PartitionKey eq @pk", "RowKey lt @hi"]
        parameters: dict[str, Any] = {"pk": partition(query.kind, day), "hi": past_oldest}
        if after_row is not None:
            clauses.append("RowKey gt @after")
            parameters["after"] = max(after_row, newest)
        else:
            clauses.append("RowKey ge @lo")
            parameters["lo"] = newest
        if query.direction:
            clauses.append("direction eq @direction")
            parameters["direction"] = query.direction
        if query.number:
            # The SDK substitutes @parameters only in words between spaces.
            clauses.append("( to eq @number or from_ eq @number )")
            parameters["number"] = query.number
        if query.tag is not None:
            clauses.append("tag eq @tag")
            parameters["tag"] = query.tag
        return self._table.query_entities(
            " and ".join(clauses),
            parameters=parameters,
            results_per_page=max(1, min(wanted, 1000)),
            select=["id", "RowKey"],
        )
