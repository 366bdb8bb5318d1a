"""Dropping what a record said once it is final and old enough, keeping what happened to it:
Twilio's message redaction, on the gateway's side (``BODY_RETENTION_DAYS``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.domain.records import Change, LogEvent, LogRecord
from shared.domain.status import is_terminal

# What was said or sent; the numbers, statuses, history and error codes stay.
CONTENT_FIELDS = ("body", "media_urls", "say", "twiml", "recording_url")
REDACTED = "redacted"
SOURCE = "retention"


def redact_content(now: datetime, days: int) -> Callable[[LogRecord], Change | None]:
    """None for a record still open (it may be sent yet) or with nothing left to drop."""

    def decide(record: LogRecord) -> Change | None:
        if not is_terminal(record.status_rank):
            return None
        if all(getattr(record, name) is None for name in CONTENT_FIELDS):
            return None
        summary: dict[str, Any] = dict.fromkeys(CONTENT_FIELDS)
        if record.body is not None and record.body_length is None:
            summary["body_length"] = len(record.body)
        note = f"content dropped after {days} days (BODY_RETENTION_DAYS)"
        return Change(LogEvent(REDACTED, SOURCE, at=now, note=note), summary)

    return decide
