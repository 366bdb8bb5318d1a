"""Recording an event without writing it anywhere: a small signal on the events queue, put
just before the write that causes the event.

The event itself is derived later from what the write stored (``shared.domain.events``): a
host killed after the write still leaves the signal, whose publisher finds the change in the
record; a host killed before the write leaves a signal whose change never shows up, which the
publisher checks a few times and then drops. Signals of the same moment in one process share
one queue message (``group_commit``), and a write that causes no event any destination wants
puts nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from azure.storage.queue.aio import QueueClient

from shared.delivery.event_routes import Routing, change_type
from shared.domain.event_types import VOICEMAIL
from shared.domain.outbound import ID_PATTERN
from shared.domain.records import LogEvent, LogRecord
from shared.platform.errors import InvalidRequestError
from shared.platform.group_commit import GroupCommit

KIND = "kind"
SIGNALS = "event_signals"
DELIVERY = "event_delivery"
MAX_SIGNALS_PER_MESSAGE = 200
MAX_STATUS_CHARS = 40


@dataclass(frozen=True)
class Signal:
    """A change a write is about to store: the record and the status it reaches."""

    id: str
    status: str


def signals_document(signals: Sequence[Signal], check: int) -> dict[str, Any]:
    return {
        KIND: SIGNALS,
        "check": check,
        "signals": [[signal.id, signal.status] for signal in signals],
    }


def parse_signals(document: dict[str, Any]) -> tuple[list[Signal], int]:
    raw, check = document.get("signals"), document.get("check", 0)
    wrong = InvalidRequestError("invalid_signals", "'signals' must be [id, status] pairs")
    if not isinstance(raw, list) or not isinstance(check, int) or check < 0:
        raise wrong
    found: list[Signal] = []
    for pair in raw:
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise wrong
        if not ID_PATTERN.fullmatch(pair[0]) or not 0 < len(pair[1]) <= MAX_STATUS_CHARS:
            raise wrong
        found.append(Signal(pair[0], pair[1]))
    return list(dict.fromkeys(found)), check


async def put_signals(
    queue: QueueClient, signals: Sequence[Signal], check: int, delay: float
) -> None:
    for start in range(0, len(signals), MAX_SIGNALS_PER_MESSAGE):
        chunk = signals[start : start + MAX_SIGNALS_PER_MESSAGE]
        await queue.send_message(
            json.dumps(signals_document(chunk, check), separators=(",", ":")),
            visibility_timeout=max(1, int(delay)),
            time_to_live=-1,
        )


class EventSignals:
    """The log's ``before_write``: a signal for each write that causes a wanted event."""

    def __init__(self, queue: QueueClient, routing: Routing, delay: float) -> None:
        self._queue = queue
        self._routing = routing
        self._delay = delay
        self._batch: GroupCommit[Signal] = GroupCommit(self._flush, MAX_SIGNALS_PER_MESSAGE)

    async def before_write(
        self, record_id: str, before: LogRecord | None, after: LogRecord | None, event: LogEvent
    ) -> None:
        signal = self.signal_for(record_id, before, after, event)
        if signal is not None:
            await self._batch.add(signal)

    def signal_for(
        self, record_id: str, before: LogRecord | None, after: LogRecord | None, event: LogEvent
    ) -> Signal | None:
        if after is None:
            return (
                Signal(record_id, event.status)
                if self._routing.wants_status(event.status)
                else None
            )
        name = change_type(before, after, event)
        if name is None or not self._routing.wants(after, name):
            return None
        return Signal(record_id, VOICEMAIL if event.status == VOICEMAIL else after.status)

    async def _flush(self, signals: list[Signal]) -> None:
        await put_signals(self._queue, list(dict.fromkeys(signals)), 0, self._delay)
