"""What the log keeps of inbound traffic beyond the summary: media, recordings, final status.

Inbound texts and calls are logged under their Twilio SID. A number's "call status changes"
URL (``/api/twilio/status``, no ``id``) reports how an inbound call ended; the SID in the
callback finds the record, and only an inbound one, so a client id can never be hijacked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from shared.domain.records import Change, LogEvent, LogRecord, utcnow
from shared.domain.transitions import TWILIO
from shared.platform.http import FormParams

MAX_MEDIA = 10


def media_urls(params: FormParams) -> list[str]:
    """``MediaUrl0``...``MediaUrl{NumMedia-1}`` of an inbound MMS."""
    count = params.first("NumMedia")
    total = min(int(count), MAX_MEDIA) if count.isascii() and count.isdigit() else 0
    return [url for i in range(total) if (url := params.first(f"MediaUrl{i}"))]


def with_media(record: LogRecord, urls: list[str]) -> LogRecord:
    return replace(record, media_urls=json.dumps(urls)) if urls else record


def callback_record_id(params: FormParams, given: str) -> tuple[str, bool]:
    """The record a status callback is about, and whether it must be an inbound one."""
    if given:
        return given, False
    sid = params.first("CallSid") or params.first("MessageSid") or params.first("SmsSid")
    return sid, True


Decider = Callable[[LogRecord], Change | None]


def inbound_only(decide: Decider) -> Decider:
    def guarded(record: LogRecord) -> Change | None:
        return decide(record) if record.direction == "inbound" else None

    return guarded


def recorded(url: str, seconds: str) -> Decider:
    """A voicemail: its URL on the summary (readable through the API) and in the history."""

    def decide(record: LogRecord) -> Change:
        now = utcnow()
        note = f"{seconds} s" if seconds else None
        event = LogEvent("voicemail", TWILIO, at=now, twilio_sid=record.twilio_sid, note=note)
        return Change(event, {"recording_url": url, "updated_at": now})

    return decide
