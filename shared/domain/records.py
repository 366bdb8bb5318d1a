"""The records of the log: a message or call (its summary), the events that moved it, and one
change to write.

These are plain values with no storage client, so the pure transitions can decide on them and
every adapter stores the same shape: a record knows the fields of its summary row, and an event
its row's properties.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

SUMMARY = "summary"
_SUMMARY_FIELDS = [
    "kind",
    "direction",
    "status",
    "status_rank",
    "to",
    "from_",
    "twilio_sid",
    "error_code",
    "error_message",
    "attempts",
    "created_at",
    "updated_at",
    "tag",
    "request_hash",
    "claimed_at",
    "last_outcome",
    "waits",
    "retrying_since",
    "next_attempt_at",
    "body",
    "body_length",
    "body_sha256",
    "media_urls",
    "say",
    "twiml",
    "url",
    "send_at",
    "source",
    "recording_url",
    "traceparent",
    "callback_url",
    "callback_events",
    "callback_gone",
    "history",
]
# A table string property holds 32K UTF-16 characters; older events give way first.
MAX_HISTORY_CHARS = 30_000


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LogEvent:
    status: str
    source: str
    at: datetime = field(default_factory=utcnow)
    error_code: int | None = None
    error_message: str | None = None
    twilio_sid: str | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "source": self.source}
        data["at"] = self.at.isoformat()
        for name in ("error_code", "error_message", "twilio_sid", "note"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True)
class LogRecord:
    """The summary row. ``from_`` is stored as ``from_`` (``from`` is an OData keyword)."""

    id: str
    kind: str
    status: str
    status_rank: int
    to: str
    created_at: datetime
    updated_at: datetime
    direction: str = "outbound"
    source: str = "api"
    from_: str | None = None
    twilio_sid: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    attempts: int = 0
    tag: str | None = None
    request_hash: str | None = None
    claimed_at: datetime | None = None
    last_outcome: str | None = None
    # Waits for Twilio (refused, unreachable): how many, since when, and when the next try is.
    waits: int = 0
    retrying_since: datetime | None = None
    next_attempt_at: datetime | None = None
    body: str | None = None
    body_length: int | None = None
    body_sha256: str | None = None
    media_urls: str | None = None
    say: str | None = None
    twiml: str | None = None
    url: str | None = None
    send_at: datetime | None = None
    recording_url: str | None = None
    traceparent: str | None = None
    # Where this record's events go (the request's callback_url), which of them (a JSON list;
    # None: the default set), and whether that URL answered 410 Gone and gets no more.
    callback_url: str | None = None
    callback_events: str | None = None
    callback_gone: bool | None = None
    history: str | None = field(default=None, compare=False, repr=False)
    etag: str | None = field(default=None, compare=False)

    def to_entity(self) -> dict[str, Any]:
        entity: dict[str, Any] = {"PartitionKey": self.id, "RowKey": SUMMARY}
        for name in _SUMMARY_FIELDS:
            value = getattr(self, name)
            if value is not None:
                entity[name] = value
        return entity

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any]) -> LogRecord:
        values = {name: entity[name] for name in _SUMMARY_FIELDS if name in entity}
        metadata = getattr(entity, "metadata", {})
        return cls(id=entity["PartitionKey"], etag=metadata.get("etag"), **values)

    def public_json(self) -> dict[str, Any]:
        """What the status API shows: no hashes, ranks or bookkeeping."""
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "direction": self.direction,
            "status": self.status,
            "to": self.to,
            "from": self.from_,
            "twilio_sid": self.twilio_sid,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if self.tag is not None:
            data["tag"] = self.tag
        if self.send_at is not None:
            data["send_at"] = self.send_at.isoformat()
        if self.waiting:
            assert self.next_attempt_at is not None
            data["next_attempt_at"] = self.next_attempt_at.isoformat()
        if self.traceparent is not None:
            data["traceparent"] = self.traceparent
        if self.callback_url is not None:
            data["callback_url"] = self.callback_url
        data.update(self._content_json())
        return data

    @property
    def waiting(self) -> bool:
        """Waiting out a refusal or an outage at Twilio: no SID yet, not final."""
        return (
            self.next_attempt_at is not None
            and not self.twilio_sid
            and self.status_rank == 1
            and self.direction == "outbound"
        )

    def _content_json(self) -> dict[str, Any]:
        """What was said or sent, as far as ``LOG_MESSAGE_BODIES`` let the log keep it."""
        content: dict[str, Any] = {}
        if self.body is not None:
            content["body"] = self.body
        elif self.body_length is not None:
            content["body_length"] = self.body_length
        if self.media_urls:
            content["media_urls"] = json.loads(self.media_urls)
        for name in ("say", "url", "recording_url"):
            if getattr(self, name) is not None:
                content[name] = getattr(self, name)
        return content


@dataclass(frozen=True)
class Change:
    """One write: the event always, summary fields only when the summary moves."""

    event: LogEvent
    summary: Mapping[str, Any] = field(default_factory=dict)


def event_from_fields(entity: Mapping[str, Any]) -> LogEvent:
    names = ("status", "source", "at", "error_code", "error_message", "twilio_sid", "note")
    return LogEvent(**{name: entity[name] for name in names if name in entity})


def _event_from_json(data: Mapping[str, Any]) -> LogEvent:
    return event_from_fields({**data, "at": datetime.fromisoformat(data["at"])})


def with_event(record: LogRecord, event: LogEvent) -> LogRecord:
    """The record with ``event`` appended to its history, within the property's size."""
    events = json.loads(record.history) if record.history else []
    events.append(event.as_json())
    text = json.dumps(events, ensure_ascii=False, separators=(",", ":"))
    while len(text) > MAX_HISTORY_CHARS and len(events) > 2:
        del events[1]
        text = json.dumps(events, ensure_ascii=False, separators=(",", ":"))
    return replace(record, history=text)


def events_of(record: LogRecord) -> list[LogEvent]:
    return [_event_from_json(data) for data in json.loads(record.history or "[]")]
