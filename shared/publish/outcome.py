"""What a destination's answer means for the event: delivered, try again later, switched off
for good (410), or refused at once (dead-letter). Both destinations read answers the same way,
so the delivery layer has one rule to follow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_SECONDS = re.compile(r"[0-9]{1,10}")
# Worth another try later: the request timed out, too early, throttled, or the server failed.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Delivered:
    """A 2xx."""

    status: int


@dataclass(frozen=True)
class RetryLater:
    """A timeout, a connection error, 408/425/429 or a 5xx."""

    reason: str
    retry_after_seconds: float | None = None


@dataclass(frozen=True)
class Gone:
    """410: the destination asks to be switched off."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """Any other answer (3xx included: redirects are not followed), an unsafe address, an
    event too large: trying again cannot help, so the event is dead-lettered at once."""

    reason: str


Outcome = Delivered | RetryLater | Gone | Refused


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (a date in the past
    is 0). Anything else is ignored (None): a bad header must not stop the retry."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - moment).total_seconds())


def outcome_of_status(status: int, who: str, retry_after: str | None = None) -> Outcome:
    """The outcome of an HTTP answer; ``who`` names the destination in the reason (a host or
    "Event Grid", never a URL with its query)."""
    reason = f"{who} answered {status}"
    if 200 <= status < 300:
        return Delivered(status)
    if status == 410:
        return Gone(reason)
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        return RetryLater(reason, parse_retry_after(retry_after))
    if 300 <= status < 400:
        return Refused(f"{reason}: a redirect, not followed")
    return Refused(reason)
