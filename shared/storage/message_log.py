"""The log of every message and call, in Azure Table Storage.

One partition per id: a ``summary`` row that carries its own history (a JSON list of the
events that moved it), plus an ``event-…`` row for each event written without reading the
summary. A summary change and its event are one single-entity write, guarded by the summary's
ETag, so history and summary never disagree and concurrent writers never overwrite each
other: the loser re-reads and decides again. No write is a batch: entity-group transactions
cost a multipart body each way and most of a send's CPU.

Twilio's status callbacks are the most frequent writes, and they need no decision: each one
is an event row marked to be folded, inserted without a read. Every read of the partition
folds those rows into the summary with the same forward-only rule the writers use, so a
reader never sees a status older than the newest callback, and the next guarded write of the
summary stores the folded status.

A callback row's key is a digest of everything Twilio signed (SID, status, parameters): a
signature has no nonce, so a captured callback can be replayed at will, and a replay (or
Twilio's own retry) then collides with the first row and adds nothing. A record holds at
most one row per distinct callback Twilio sent for it.

An erased record leaves a tombstone: a summary row that says ``erased`` and holds nothing else
of it, so that its id still refuses a second send. Every read sees a tombstone as no record.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableEntity, UpdateMode
from azure.data.tables.aio import TableClient

from shared.domain.records import (
    SUMMARY,
    Change,
    LogEvent,
    LogRecord,
    event_from_fields,
    events_of,
    utcnow,
    with_event,
)
from shared.platform import logs
from shared.storage.table_rows import MAX_ROWS_PER_BATCH, delete_rows

EVENT_PREFIX = "event-"
CALLBACK_PREFIX = EVENT_PREFIX + "cb-"
MAX_WRITE_ATTEMPTS = 8
# Inserts answer with the ETag alone, not the entity echoed back for the SDK to parse.
NO_ECHO = "return-no-content"
# On an event row: fold it into the summary on read ("any" record, or "inbound" ones only).
FOLD_PROPERTY = "fold"
FOLD_ANY = "any"
FOLD_INBOUND = "inbound"
# On a summary row: the record was erased; the row is its tombstone.
ERASED_PROPERTY = "erased"


class RecordExistsError(Exception):
    """The id is already in the log: an idempotent repeat, or a clash."""


class ConcurrentUpdateError(Exception):
    """Other writers kept changing the record; the caller may retry later."""


def callback_key(params: Mapping[str, Sequence[str]]) -> str:
    """The same digest for the same signed parameters, whatever their order."""
    canonical = json.dumps(
        sorted((name, sorted(values)) for name, values in params.items()), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _event_entity(record_id: str, event: LogEvent, row: str | None = None) -> dict[str, Any]:
    row = row or f"{EVENT_PREFIX}{time.time_ns():020d}-{secrets.token_hex(3)}"
    entity: dict[str, Any] = {"PartitionKey": record_id, "RowKey": row}
    entity.update({key: value for key, value in vars(event).items() if value is not None})
    return entity


Fold = Callable[[LogRecord, LogEvent, bool], LogRecord]
"""Applies one callback event to a record (``True``: only if the record is inbound)."""

BeforeWrite = Callable[[str, LogRecord | None, LogRecord | None, LogEvent], Awaitable[None]]
"""Told of a write before it is made: the record id, the record before (None for a create or
a callback row) and after (None for a callback row, which is written without a read), and
the event. Events out hang here (``shared.delivery.event_signals``); an error stops the write.
"""


def from_rows(
    entities: Sequence[Mapping[str, Any]], fold: Fold
) -> tuple[LogRecord, list[LogEvent]] | None:
    """One record's partition, in row key order: its summary with the callback rows folded
    in, and the events of its rows (not those of the summary's own history)."""
    record: LogRecord | None = None
    rows: list[LogEvent] = []
    to_fold: list[tuple[LogEvent, bool]] = []
    for entity in entities:
        if entity["RowKey"] == SUMMARY:
            if is_tombstone(entity):
                return None
            record = LogRecord.from_entity(entity)
        elif str(entity["RowKey"]).startswith(EVENT_PREFIX):
            event = event_from_fields(entity)
            rows.append(event)
            if entity.get(FOLD_PROPERTY) in (FOLD_ANY, FOLD_INBOUND):
                to_fold.append((event, entity[FOLD_PROPERTY] == FOLD_INBOUND))
    if record is None:
        return None
    # Callback rows are keyed by digest, not time: they are folded in the order they came.
    to_fold.sort(key=lambda pair: pair[0].at)
    for event, inbound_only in to_fold:
        record = fold(record, event, inbound_only)
    return record, rows


def is_tombstone(entity: Mapping[str, Any]) -> bool:
    return entity.get("RowKey") == SUMMARY and entity.get(ERASED_PROPERTY) is True


def tombstone_entity(record_id: str, kind: str, direction: str) -> dict[str, Any]:
    return {
        "PartitionKey": record_id,
        "RowKey": SUMMARY,
        ERASED_PROPERTY: True,
        "kind": kind,
        "direction": direction,
        "erased_at": utcnow(),
    }


def sids_in(entities: Sequence[Mapping[str, Any]]) -> set[str]:
    """Every Twilio SID a record's rows name: on the summary, in its history, on event rows."""
    found: set[str] = set()
    for entity in entities:
        if entity.get("twilio_sid"):
            found.add(str(entity["twilio_sid"]))
        if entity.get("RowKey") == SUMMARY and isinstance(entity.get("history"), str):
            for event in json.loads(entity["history"]):
                if isinstance(event, dict) and event.get("twilio_sid"):
                    found.add(str(event["twilio_sid"]))
    return found


class MessageLog:
    """Persistence for log records; every write is conditional (insert, or ETag match).

    A summary is replaced whole, never merged: the writer holds the full record it read,
    the ETag proves nobody changed it since, and a field set to None is really cleared.
    ``fold`` is the rule that applies callback rows on read (``transitions.fold_callback``);
    ``before_write``, when given, hears of every create, summary write and callback row just
    before it is made (history-only rows move nothing and are not told).
    """

    def __init__(
        self, table: TableClient, fold: Fold, before_write: BeforeWrite | None = None
    ) -> None:
        self._table = table
        self._fold = fold
        self._before_write = before_write

    async def create(self, record: LogRecord, event: LogEvent) -> LogRecord:
        """Inserts a new record; returns it with its ETag, ready for a guarded update."""
        record = with_event(record, event)
        if self._before_write is not None:
            await self._before_write(record.id, None, record, event)
        try:
            result = await self._table.create_entity(
                record.to_entity(), response_preference=NO_ECHO
            )
        except ResourceExistsError as exc:
            raise RecordExistsError(record.id) from exc
        return replace(record, etag=result.get("etag"))

    async def get(self, record_id: str) -> LogRecord | None:
        """The summary with every callback row folded in: one partition query."""
        found = await self._load(record_id)
        return found[0] if found else None

    async def read(self, record_id: str) -> tuple[LogRecord, list[LogEvent]] | None:
        """The summary and its whole history, oldest first, in one query."""
        found = await self._load(record_id)
        if found is None:
            return None
        record, rows = found
        events = events_of(record) + rows
        events.sort(key=lambda event: event.at)
        return record, events

    async def _load(self, record_id: str) -> tuple[LogRecord, list[LogEvent]] | None:
        entities = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": record_id})
        return from_rows([entity async for entity in entities], self._fold)

    async def rows(self, record_id: str) -> list[TableEntity]:
        """Every row of the record's partition as stored: for the purge and the erasure."""
        entities = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": record_id})
        return [entity async for entity in entities]

    def record_of(self, entities: Sequence[Mapping[str, Any]]) -> LogRecord | None:
        found = from_rows(entities, self._fold)
        return found[0] if found else None

    async def is_erased(self, record_id: str) -> bool:
        try:
            entity = await self._table.get_entity(record_id, SUMMARY)
        except ResourceNotFoundError:
            return False
        return is_tombstone(entity)

    async def bury(self, record_id: str, kind: str, direction: str, other_rows: list[str]) -> None:
        """Replaces the summary with a tombstone, whatever it was (a writer holding the old
        ETag then fails its write and reads the record as gone), and deletes the record's
        other rows: one transaction, the partition being the record's own."""
        tombstone = tombstone_entity(record_id, kind, direction)
        first, rest = other_rows[: MAX_ROWS_PER_BATCH - 1], other_rows[MAX_ROWS_PER_BATCH - 1 :]
        operations: list[Any] = [("upsert", tombstone, {"mode": UpdateMode.REPLACE})]
        operations += [("delete", {"PartitionKey": record_id, "RowKey": key}) for key in first]
        try:
            await self._table.submit_transaction(operations)
        except AzureError as exc:
            # A row gone already (an erasure running twice) sinks the whole transaction.
            logs.info("bury_retried_one_by_one", error=type(exc).__name__)
            await self._table.upsert_entity(tombstone, mode=UpdateMode.REPLACE)
            rest = other_rows
        await delete_rows(self._table, record_id, rest)

    async def delete_rows(self, record_id: str, row_keys: list[str]) -> None:
        await delete_rows(self._table, record_id, row_keys)

    async def history(self, record_id: str) -> list[LogEvent]:
        found = await self.read(record_id)
        return found[1] if found else []

    async def add_event(self, record_id: str, event: LogEvent) -> None:
        """A history row alone: for late events that must not touch the summary."""
        await self._table.create_entity(
            _event_entity(record_id, event), response_preference=NO_ECHO
        )

    async def add_callback(
        self, record_id: str, event: LogEvent, inbound_only: bool, key: str
    ) -> bool:
        """Twilio's news, written without a read: readers fold it into the summary.

        ``key`` (``callback_key``) names the callback: False when that row is already
        there, a repeat that costs one refused insert and leaves the record as it was. A
        callback for an id the log does not hold leaves a row that no read ever shows.
        """
        entity = _event_entity(record_id, event, CALLBACK_PREFIX + key)
        entity[FOLD_PROPERTY] = FOLD_INBOUND if inbound_only else FOLD_ANY
        if self._before_write is not None:
            await self._before_write(record_id, None, None, event)
        try:
            await self._table.create_entity(entity, response_preference=NO_ECHO)
        except ResourceExistsError:
            return False
        return True

    async def update(
        self,
        record_id: str,
        decide: Callable[[LogRecord], Change | None],
        current: LogRecord | None = None,
    ) -> tuple[LogRecord, Change | None] | None:
        """Read, decide, write with the ETag; on a lost race read again and decide again.

        ``current``, a record the caller has just read or written (or rebuilt), saves the
        first read; its ETag still guards the write, and a record gone since reads as gone.
        Returns the record as written (or as read, when ``decide`` chose no change) with the
        change, or None when the id is not in the log.
        """
        for _ in range(MAX_WRITE_ATTEMPTS):
            record = current if current is not None else await self.get(record_id)
            current = None
            if record is None:
                return None
            change = decide(record)
            if change is None:
                return record, None
            if not change.summary:
                await self.add_event(record_id, change.event)
                return record, change
            updated = with_event(replace(record, **change.summary), change.event)
            if self._before_write is not None:
                await self._before_write(record_id, record, updated, change.event)
            try:
                result = await self._table.update_entity(
                    updated.to_entity(),
                    mode=UpdateMode.REPLACE,
                    etag=record.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
            return replace(updated, etag=result.get("etag")), change
        raise ConcurrentUpdateError(record_id)
