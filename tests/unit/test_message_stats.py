"""Summing a day's statistics rows: one count per row, and the share delivered within 10 s."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.storage.message_stats import StatusCount, count_entity, sum_rows

DAY = date(2026, 11, 26)
AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def row(
    record_id: str, status: str, seconds: float = 0.0, code: int | None = None
) -> dict[str, Any]:
    count = StatusCount(record_id, "sms", "outbound", status, AT + timedelta(seconds=seconds), code)
    return count_entity(count)


def test_a_repeated_status_of_one_record_lands_on_the_same_row() -> None:
    assert row("r1", "delivered")["RowKey"] == row("r1", "delivered", 5)["RowKey"]
    assert row("r1", "delivered")["RowKey"] != row("r2", "delivered")["RowKey"]


def test_a_row_holds_no_record_id() -> None:
    entity = row("alerts-night-42", "accepted")

    assert "alerts-night-42" not in str(entity)


def test_rows_are_counted_by_kind_direction_status_and_code() -> None:
    rows = [row("r1", "accepted"), row("r2", "accepted"), row("r2", "undelivered", 20, 30003)]

    counts = sum_rows(DAY, rows).counts

    assert counts["sms~outbound~accepted~"] == 2
    assert counts["sms~outbound~undelivered~30003"] == 1


def test_delivered_within_10_seconds_of_accept_counts_as_fast() -> None:
    rows = [row("fast", "accepted"), row("fast", "delivered", 9.5)]
    rows += [row("slow", "accepted"), row("slow", "delivered", 10.5)]

    counts = sum_rows(DAY, rows).counts

    assert counts["sms~outbound~delivered~"] == 2
    assert counts["sms~outbound~within_10s~"] == 1


def test_the_day_of_a_row_is_the_utc_day_of_its_status() -> None:
    at = datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)
    late = StatusCount("r1", "sms", "outbound", "delivered", at)

    assert count_entity(late)["PartitionKey"] == "20261126"
