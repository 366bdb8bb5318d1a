"""In-memory resources and the inspection log; nothing survives a restart, by design."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ParamValue = str | list[str]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass
class CallbackRecord:
    """One request the simulator made to the application, and how the application answered."""

    url: str
    method: str
    params: dict[str, str]
    signature: str
    status: int | None = None
    error: str | None = None
    sent_at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sent_at"] = _iso(self.sent_at)
        return data


@dataclass
class TwimlRecord:
    """Where a call's TwiML came from and whether it was usable, for tests to assert on."""

    source: Literal["url", "inline"]
    url: str | None = None
    method: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    signature: str | None = None
    http_status: int | None = None
    twiml: str | None = None
    error_code: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MessageRecord:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str | None
    media_urls: list[str]
    messaging_service_sid: str | None
    status: str
    num_segments: int
    direction: str = "outbound-api"
    status_callback: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    price_unit: str | None = "USD"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    date_sent: datetime | None = None
    callbacks: list[CallbackRecord] = field(default_factory=list)

    def set_status(self, status: str) -> None:
        self.status = status
        self.date_updated = utcnow()


@dataclass
class CallRecord:
    sid: str
    account_sid: str
    to: str
    from_: str
    status: str
    direction: str = "outbound-api"
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=list)
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    price: str | None = None
    price_unit: str | None = "USD"
    date_created: datetime = field(default_factory=utcnow)
    date_updated: datetime = field(default_factory=utcnow)
    callbacks: list[CallbackRecord] = field(default_factory=list)
    twiml_record: TwimlRecord | None = None

    def set_status(self, status: str) -> None:
        self.status = status
        self.date_updated = utcnow()


@dataclass
class RecordingRecord:
    """A call's recording: a separate resource, which outlives the call until deleted."""

    sid: str
    account_sid: str
    call_sid: str
    duration: int = 5
    date_created: datetime = field(default_factory=utcnow)


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, ParamValue]
    params: dict[str, ParamValue]
    auth_user: str | None
    status: int
    at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = _iso(self.at)
        return data


@dataclass
class InboundRecord:
    """A webhook the simulator posted while playing the caller or texter."""

    kind: str
    url: str
    method: str
    params: dict[str, str]
    signature: str
    status: int | None = None
    content_type: str | None = None
    body: str | None = None
    error: str | None = None
    sid: str | None = None
    at: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = _iso(self.at)
        return data


class SimStore:
    def __init__(self) -> None:
        self.messages: dict[str, MessageRecord] = {}
        self.calls: dict[str, CallRecord] = {}
        self.recordings: dict[str, RecordingRecord] = {}
        self.requests: list[RequestRecord] = []
        self.inbound: list[InboundRecord] = []

    def reset(self) -> None:
        self.messages.clear()
        self.calls.clear()
        self.recordings.clear()
        self.requests.clear()
        self.inbound.clear()
