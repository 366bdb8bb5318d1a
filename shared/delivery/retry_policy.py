"""How long a send that Twilio could not take waits before the next try, and for how long in
all: one policy for refusals (429, queue full), outages (5xx, refused connections) and
reconciliations that cannot reach Twilio.

The wait is exponential with jitter (``TWILIO_RETRY_FIRST_SECONDS`` doubling up to
``TWILIO_RETRY_MAX_SECONDS``), never shorter than Twilio's ``Retry-After``; it is carried by
the queue (a message put back with a visibility delay), so it never spends the host's dequeue
count. Past ``TWILIO_RETRY_BUDGET_HOURS`` since the first wait the record is given up on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.records import LogRecord
from shared.platform.settings import Settings

# Instances must not retry in step after an outage: each wait is drawn from [½, 1] of its step.
_JITTER = random.SystemRandom()


@dataclass(frozen=True)
class RetryPolicy:
    first_seconds: float
    max_seconds: float
    budget: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.twilio_retry_first_seconds,
            settings.twilio_retry_max_seconds,
            timedelta(hours=settings.twilio_retry_budget_hours),
        )

    def delay(self, waits: int, retry_after: float | None = None) -> float:
        """Seconds before the try that follows ``waits`` earlier waits."""
        step = min(self.first_seconds * 2.0 ** min(waits, 40), self.max_seconds)
        drawn = step * (0.5 + 0.5 * _JITTER.random())
        return max(drawn, retry_after or 0.0)

    def spent(self, record: LogRecord, now: datetime) -> bool:
        """The budget is counted from the record's first wait."""
        since = record.retrying_since
        return since is not None and now - since >= self.budget
