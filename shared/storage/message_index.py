"""A time index of the log, so that lists read a few partitions instead of the whole table.

The log keeps one partition per id, which makes every read and write of one record cheap but
leaves no order to list by. Table ``MessageIndex`` adds one small row per record, written
once when the record is created: partition ``<kind>-<yyyymmdd>`` (the UTC day it was
created), row key ``<inverted microseconds>-<id>``, so a partition reads newest first and a
time range is a row key range. Direction is on the row to filter on; the status changes too
often to copy here and is read from the record's summary.

Each number of the record (``to``, ``from``) adds a row to the same partition, keyed by the
number's keyed hash (``number_keys``): row key ``n-<hash>-<inverted microseconds>-<id>``. A
list filtered by number and the erasure of a number read those rows by key prefix, never the
day's other rows, and no row holds a number in clear. The number rows sort after every time
row ("n" > digits), so a plain time range never meets them.

Rows written at the same time share a partition (the day), so they go in one entity-group
transaction (``group_commit``): a busy instance pays one request per batch, not per record,
and a record's number rows cost no request of their own.

The retention purge and the erasure read and delete these rows by partition and key
(``day_rows``, ``number_rows``, ``delete``); a day partition older than the retention is found
by a key range on the partitions of a kind (``oldest_day``), never by reading younger days.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.domain.records import LogRecord
from shared.platform import logs
from shared.platform.group_commit import GroupCommit
from shared.platform.json_text import InvalidJsonError, parse_json
from shared.storage.message_log import NO_ECHO
from shared.storage.table_rows import MAX_ROWS_PER_BATCH, delete_rows

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVERT_FROM = 10**17 - 1
DAYS_PER_PAGE = 31
# A record has a time row and up to two number rows.
MAX_RECORDS_PER_BATCH = MAX_ROWS_PER_BATCH // 3
NUMBER_ROW_PREFIX = "n-"
_DAY_DIGITS = 8

NumberKey = Callable[[str], str]
_TIME_ROW_FIELDS = ("PartitionKey", "RowKey", "id", "direction", "created_at")


# The shapes this index writes: a token is base64url of {"d": <day>, "r": <row key>|null}.
MAX_TOKEN_CHARS = 200
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_TOKEN_CHARS}}}\Z")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
# A time row's key, or a number row's (its number's hash first).
_ROW_KEY = re.compile(r"(?:n-[0-9a-f]{32}-)?([0-9]{17})-[A-Za-z0-9_-]{1,64}\Z")


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


def number_row_prefix(key: str) -> str:
    return f"{NUMBER_ROW_PREFIX}{key}-"


def record_numbers(record: LogRecord) -> list[str]:
    """The numbers a record is found by: its recipient and sender, once each."""
    return list(dict.fromkeys(number for number in (record.to, record.from_) if number))


def index_entity(record: LogRecord) -> dict[str, Any]:
    created = record.created_at.astimezone(UTC)
    entity: dict[str, Any] = {
        "PartitionKey": partition(record.kind, created.date()),
        "RowKey": row_key(created, record.id),
        "id": record.id,
        "direction": record.direction,
        "created_at": created,
    }
    if record.tag is not None:
        entity["tag"] = record.tag
    return entity


def index_entities(record: LogRecord, key_of: NumberKey) -> list[dict[str, Any]]:
    """The record's time row and one row per number, all in the partition of its day."""
    time_row = index_entity(record)
    rows = [time_row]
    for number in record_numbers(record):
        rows.append({**time_row, "RowKey": number_row_prefix(key_of(number)) + time_row["RowKey"]})
    return rows


@dataclass(frozen=True)
class IndexRow:
    partition: str
    row_key: str
    id: str

    @property
    def is_number_row(self) -> bool:
        return self.row_key.startswith(NUMBER_ROW_PREFIX)


def _index_row(entity: dict[str, Any]) -> IndexRow:
    return IndexRow(str(entity["PartitionKey"]), str(entity["RowKey"]), str(entity["id"]))


class MessageIndex:
    def __init__(self, table: TableClient, key_of: NumberKey) -> None:
        self._table = table
        self._key_of = key_of
        self._batch: GroupCommit[list[dict[str, Any]]] = GroupCommit(
            self._insert, MAX_RECORDS_PER_BATCH
        )

    def number_key(self, number: str) -> str:
        return self._key_of(number)

    async def add(self, record: LogRecord) -> None:
        """The record's rows, after the record is safely in the log.

        A failure is logged, not raised: the record and its send are fine and only missing
        from lists, while raising would answer the sender an error for a request that is
        already accepted.
        """
        await self._batch.add(index_entities(record, self._key_of))

    async def remove(self, record: LogRecord) -> None:
        """Takes back the rows ``add`` wrote for this very record object (same creation time):
        for a repeat whose record was already there, so that it is not listed twice."""
        rows = index_entities(record, self._key_of)
        try:
            await delete_rows(self._table, rows[0]["PartitionKey"], [r["RowKey"] for r in rows])
        except AzureError as exc:
            logs.error("index_row_not_removed", id=record.id, error=type(exc).__name__)

    async def _insert(self, records: list[list[dict[str, Any]]]) -> None:
        partitions: dict[str, list[dict[str, Any]]] = {}
        for rows in records:
            for row in rows:
                partitions.setdefault(row["PartitionKey"], []).append(row)
        for same_day in partitions.values():
            for start in range(0, len(same_day), MAX_ROWS_PER_BATCH):
                await self._insert_batch(same_day[start : start + MAX_ROWS_PER_BATCH])

    async def _insert_batch(self, rows: list[dict[str, Any]]) -> None:
        if len(rows) > 1:
            try:
                await self._table.submit_transaction([("create", row) for row in rows])
            except AzureError as exc:
                # All or nothing: one row already there (a repeat) sinks the batch.
                logs.info("index_batch_retried_one_by_one", error=type(exc).__name__)
            else:
                return
        for row in rows:
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
        prefix = number_row_prefix(self._key_of(query.number)) if query.number else ""
        newest = f"{prefix}{_inverted(query.until.astimezone(UTC)):017d}"
        past_oldest = f"{prefix}{_inverted(query.since.astimezone(UTC)) + 1:017d}"
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
        if query.tag is not None:
            clauses.append("tag eq @tag")
            parameters["tag"] = query.tag
        return self._table.query_entities(
            " and ".join(clauses),
            parameters=parameters,
            results_per_page=max(1, min(wanted, 1000)),
            select=["id", "RowKey"],
        )

    async def oldest_day(self, kind: str, before: date) -> date | None:
        """The oldest day of ``kind`` still indexed, if it is before ``before``: one key range
        over partition keys, answered with the first row found."""
        rows = self._table.query_entities(
            "PartitionKey gt @lo and PartitionKey lt @hi",
            parameters={"lo": f"{kind}-", "hi": partition(kind, before)},
            results_per_page=1,
            select=["PartitionKey"],
        )
        async for entity in rows:
            day = str(entity["PartitionKey"])[len(kind) + 1 :]
            if len(day) == _DAY_DIGITS and day.isascii() and day.isdigit():
                return datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC).date()
            logs.warning("index_partition_unexpected", partition=str(entity["PartitionKey"]))
            return None
        return None

    async def day_rows(self, kind: str, day: date) -> list[IndexRow]:
        rows = self._table.query_entities(
            "PartitionKey eq @pk",
            parameters={"pk": partition(kind, day)},
            select=["PartitionKey", "RowKey", "id"],
        )
        return [_index_row(entity) async for entity in rows]

    async def number_rows(self, kind: str, day: date, number: str) -> list[IndexRow]:
        """The rows of one number on one day: a key prefix, so only its own rows are read."""
        prefix = number_row_prefix(self._key_of(number))
        rows = self._table.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo and RowKey lt @hi",
            parameters={"pk": partition(kind, day), "lo": prefix, "hi": prefix[:-1] + "."},
            select=["PartitionKey", "RowKey", "id"],
        )
        return [_index_row(entity) async for entity in rows]

    async def move_numbers_to_rows(self, kind: str, day: date) -> int:
        """Rewrites a day written before the number rows: each time row that holds ``to`` or
        ``from_`` in clear loses them and gains its number rows (upserts, so a rerun or two
        runs at once agree). Returns how many time rows were rewritten."""
        rows = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": partition(kind, day)}
        )
        operations: list[Any] = []
        moved = 0
        async for entity in rows:
            if str(entity["RowKey"]).startswith(NUMBER_ROW_PREFIX):
                continue
            numbers = [str(entity[name]) for name in ("to", "from_") if entity.get(name)]
            if not numbers and "to" not in entity and "from_" not in entity:
                continue
            time_row = {name: entity[name] for name in _TIME_ROW_FIELDS if name in entity}
            operations.append(("upsert", time_row, {"mode": UpdateMode.REPLACE}))
            for number in dict.fromkeys(numbers):
                prefix = number_row_prefix(self._key_of(number))
                number_row = {**time_row, "RowKey": prefix + time_row["RowKey"]}
                operations.append(("upsert", number_row, {"mode": UpdateMode.REPLACE}))
            moved += 1
        for start in range(0, len(operations), MAX_ROWS_PER_BATCH):
            await self._table.submit_transaction(operations[start : start + MAX_ROWS_PER_BATCH])
        return moved

    def row_keys_of(self, record: LogRecord) -> list[str]:
        return [str(row["RowKey"]) for row in index_entities(record, self._key_of)]

    async def delete(self, partition_key: str, row_keys: list[str]) -> None:
        await delete_rows(self._table, partition_key, row_keys)
