"""A record's CloudEvents: derived from its history, so every reader derives the same ones.

An event is a status change as the record's history shows it, replayed with the same
forward-only rule the writers apply (a late ``sent`` after ``delivered`` is history, not an
event), plus an inbound arrival and a voicemail. Nothing about an event is stored besides the
write that causes it: its ``id`` is a UUID5 of the record id, the type and the ``sequence``,
and the ``sequence`` comes from the change alone (its rank, then gateway before Twilio at the
same rank), never from a position in the history, whose oldest entries give way past the
property limit. The same change thus has the same id whoever derives it and however often,
and a record's events sort by ``sequence`` into the order of its history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.event_types import RECEIVED, VOICEMAIL, event_type
from shared.domain.records import LogEvent, LogRecord
from shared.domain.status import (
    ACCEPTED,
    FAILED,
    WITHDRAWN,
    Kind,
    UnknownStatusError,
    gateway_rank,
    is_terminal,
    twilio_rank,
)
from shared.domain.transitions import GATEWAY, TWILIO

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
# The $id of shared/domain/event_data.schema.json: a name, not a place to fetch it from.
DATA_SCHEMA = "urn:io.github.twilio-gateway:event-data:1"
# A voicemail is left while the call is up: after every status but the final ones.
VOICEMAIL_RANK = 99
_NAMESPACE = uuid.UUID("5b0c3f1e-6a55-4d7e-9a3b-2f1c8e0d4a77")


@dataclass(frozen=True)
class StatusChange:
    """One event of a record: the history entry that caused it and the status before it."""

    kind: Kind
    status: str
    previous: str | None
    rank: int
    origin: str
    event: LogEvent
    arrival: bool = False

    @property
    def type(self) -> str:
        if self.arrival:
            return event_type(self.kind, RECEIVED)
        return event_type(self.kind, self.status)

    @property
    def sequence(self) -> str:
        """Zero-padded, so that it sorts as text: rank, then gateway (0) before Twilio (1)."""
        return f"{self.rank:03d}{0 if self.origin == GATEWAY else 1}"

    @property
    def final(self) -> bool:
        return is_terminal(self.rank)


def event_id(record_id: str, event_type_name: str, sequence: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{record_id}\n{event_type_name}\n{sequence}"))


def _rank(kind: Kind, event: LogEvent) -> int | None:
    try:
        if event.source == GATEWAY:
            return gateway_rank(kind, event.status)
        if event.source == TWILIO:
            return twilio_rank(kind, event.status)
    except UnknownStatusError:
        return None
    return None


def status_changes(record: LogRecord, history: Sequence[LogEvent]) -> list[StatusChange]:
    """The record's events in the order its history shows them (``history`` oldest first)."""
    kind: Kind = "call" if record.kind == "call" else "sms"
    changes: list[StatusChange] = []
    seen: set[str] = set()
    status: str | None = None
    rank = -1
    sid: str | None = None
    for event in history:
        if event.status == VOICEMAIL and event.source == TWILIO and kind == "call":
            change = StatusChange(kind, VOICEMAIL, status, VOICEMAIL_RANK, TWILIO, event)
            if change.sequence not in seen:
                seen.add(change.sequence)
                changes.append(change)
            continue
        new_rank = _rank(kind, event)
        if new_rank is None:
            continue
        if event.source == TWILIO:
            if event.twilio_sid and sid and event.twilio_sid != sid:
                continue
            after_all = bool(event.twilio_sid) and not sid and status == FAILED
            sid = sid or event.twilio_sid
            moves = new_rank > rank or after_all
        else:
            revived = event.status == ACCEPTED and status == WITHDRAWN
            moves = new_rank > rank or revived
        if not moves:
            continue
        arrival = record.direction == "inbound" and status is None
        change = StatusChange(kind, event.status, status, new_rank, event.source, event, arrival)
        status, rank = event.status, new_rank
        if change.sequence not in seen:
            seen.add(change.sequence)
            changes.append(change)
    return changes


def event_data(record: LogRecord, change: StatusChange) -> dict[str, Any]:
    """The record's public fields as the change left them, with the names ACS uses."""
    current = change.status == record.status
    error_code = change.event.error_code
    error_message = change.event.error_message
    if current and error_code is None and error_message is None:
        error_code, error_message = record.error_code, record.error_message
    data: dict[str, Any] = {
        "id": record.id,
        "messageId": record.id,
        "kind": record.kind,
        "direction": record.direction,
        "status": change.status,
        "previousStatus": change.previous,
        "final": change.final,
        "from": record.from_,
        "to": record.to,
        "twilioSid": change.event.twilio_sid or record.twilio_sid,
        "errorCode": error_code,
        "errorMessage": error_message,
        "attempts": record.attempts,
    }
    if record.tag is not None:
        data["tag"] = record.tag
    if record.direction == "outbound" and record.kind == "sms":
        data["deliveryStatus"] = change.status
        data["deliveryStatusDetails"] = error_message or change.status
    if record.direction == "inbound":
        data["receivedTimestamp"] = record.created_at.isoformat()
        if record.kind == "sms" and record.body is not None:
            data["message"] = record.body
    if change.status == VOICEMAIL and record.recording_url is not None:
        data["recordingUrl"] = record.recording_url
    return data


def cloud_event(record: LogRecord, change: StatusChange, source: str) -> dict[str, Any]:
    """A CloudEvents 1.0 event in structured JSON, ``source`` the app's public URL."""
    name = change.type
    return {
        "specversion": SPEC_VERSION,
        "id": event_id(record.id, name, change.sequence),
        "source": source,
        "type": name,
        "subject": record.id,
        "time": change.event.at.isoformat(),
        "sequence": change.sequence,
        "datacontenttype": CONTENT_TYPE,
        "dataschema": DATA_SCHEMA,
        "data": event_data(record, change),
    }


def with_body(event: Mapping[str, Any], record: LogRecord) -> dict[str, Any]:
    """The event with the outbound body, for a destination that asked for it (the log
    holds one only while ``LOG_MESSAGE_BODIES`` allows)."""
    data = dict(event["data"])
    if record.direction == "outbound" and record.body is not None:
        data["body"] = record.body
    return {**event, "data": data}
