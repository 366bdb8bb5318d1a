"""The one retry policy for sends Twilio did not take: backoff, Retry-After, budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.delivery.retry_policy import RetryPolicy
from shared.domain.records import LogRecord

POLICY = RetryPolicy(10.0, 600.0, timedelta(hours=24))
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def record(retrying_since: datetime | None) -> LogRecord:
    return LogRecord(
        id="r", kind="sms", status="sending", status_rank=1, to="+15551234567",
        created_at=NOW, updated_at=NOW, retrying_since=retrying_since,
    )  # fmt: skip


@pytest.mark.parametrize(("waits", "step"), [(0, 10.0), (1, 20.0), (3, 80.0), (6, 600.0)])
def test_the_wait_doubles_from_the_first_step_to_the_cap_with_jitter(
    waits: int, step: float
) -> None:
    delays = [POLICY.delay(waits) for _ in range(50)]

    assert all(step / 2 <= delay <= step for delay in delays)
    assert len(set(delays)) > 1


def test_twilios_retry_after_is_never_cut_short() -> None:
    assert POLICY.delay(0, retry_after=300.0) >= 300.0


def test_the_budget_counts_from_the_first_wait() -> None:
    assert not POLICY.spent(record(None), NOW)
    assert not POLICY.spent(record(NOW - timedelta(hours=23)), NOW)
    assert POLICY.spent(record(NOW - timedelta(hours=24)), NOW)
