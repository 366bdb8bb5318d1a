"""Every status a record reaches is counted once: in the day's statistics and as a metric.

The log's writers stay as they are: ``CountedLog`` is the log with one step after each
create and each summary write that moves the status, and a status callback (written without
a read, so without the record) is counted by the webhook alongside its row. Only the
statuses the console and the workbook show are counted, which keeps the write cost of a
delivered SMS to three small rows, batched with those of other records of the same moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from azure.data.tables.aio import TableClient

from shared.domain.records import Change, LogEvent, LogRecord
from shared.domain.status import ACCEPTED, is_terminal, twilio_rank
from shared.platform import metrics
from shared.storage.message_log import BeforeWrite, Fold, MessageLog
from shared.storage.message_stats import MessageStats, StatusCount

SENT: dict[str, str] = {"sms": "sent", "call": "queued"}
COUNTED = frozenset(
    {
        ACCEPTED,
        "received",
        "rejected",
        "sent",
        "queued",
        "delivered",
        "undelivered",
        "failed",
        "unknown",
        "canceled",
        "read",
        "completed",
        "busy",
        "no-answer",
        "withdrawn",
    }
)
_GATEWAY_FINAL = frozenset({"rejected", "failed", "unknown", "withdrawn"})


def is_counted(kind: str, status: str, direction: str = "outbound") -> bool:
    """The statuses the console shows; an inbound call's first one (``ringing``) is its
    arrival, counted as an inbound SMS's ``received`` is."""
    if kind == "call" and status == "ringing":
        return direction == "inbound"
    if status not in COUNTED:
        return False
    return status != "queued" or kind == "call"


def _final(kind: str, status: str) -> bool:
    if status in _GATEWAY_FINAL:
        return True
    try:
        return is_terminal(twilio_rank("call" if kind == "call" else "sms", status))
    except ValueError:
        return False


async def count(
    stats: MessageStats,
    record_id: str,
    kind: str,
    direction: str,
    event: LogEvent,
    created_at: datetime | None = None,
) -> None:
    """One status of one record: a statistics row (a repeat lands on the same row) and the
    metric, with the time since accept when the record is at hand."""
    status = event.status
    if not is_counted(kind, status, direction):
        return
    seconds = (event.at - created_at).total_seconds() if created_at is not None else None
    if status in (ACCEPTED, "received") or (kind == "call" and status == "ringing"):
        metrics.accepted(kind, direction)
    elif status == SENT.get(kind):
        metrics.sent(kind, direction)
    if _final(kind, status):
        metrics.final(kind, direction, status, event.error_code, seconds)
    await stats.count(StatusCount(record_id, kind, direction, status, event.at, event.error_code))


class CountedLog(MessageLog):
    """The log, counting each status it stores (``create``, and ``update`` when the summary's
    status moves); callbacks are counted by their webhook."""

    def __init__(
        self,
        table: TableClient,
        fold: Fold,
        stats: MessageStats,
        before_write: BeforeWrite | None = None,
    ) -> None:
        super().__init__(table, fold, before_write)
        self.stats = stats

    async def create(self, record: LogRecord, event: LogEvent) -> LogRecord:
        """The count goes out with the insert, not after it: the API's accept waits for one
        round trip, not two. A repeat of the id counts on the first one's row; an insert that
        failed may leave its count (a client retrying with the same id counts once)."""
        created, counted = await asyncio.gather(
            super().create(record, event),
            count(self.stats, record.id, record.kind, record.direction, event),
            return_exceptions=True,
        )
        for outcome in (created, counted):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(created, LogRecord)
        return created

    async def update(
        self,
        record_id: str,
        decide: Callable[[LogRecord], Change | None],
        current: LogRecord | None = None,
    ) -> tuple[LogRecord, Change | None] | None:
        result = await super().update(record_id, decide, current)
        change = result[1] if result is not None else None
        if result is not None and change is not None and change.summary.get("twilio_sid"):
            record = result[0]
            seconds = (change.event.at - record.created_at).total_seconds()
            metrics.taken_by_twilio(record.kind, seconds)
        if result is not None and change is not None and "status" in change.summary:
            record = result[0]
            moved = LogEvent(record.status, change.event.source, change.event.at, record.error_code)
            await count(
                self.stats, record.id, record.kind, record.direction, moved, record.created_at
            )
        return result
