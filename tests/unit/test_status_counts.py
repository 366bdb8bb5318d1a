"""Which statuses are counted: the ones the console and the workbook show."""

from __future__ import annotations

import pytest

from shared.delivery.status_counts import is_counted


@pytest.mark.parametrize(
    ("kind", "status", "direction"),
    [
        ("sms", "accepted", "outbound"),
        ("sms", "sent", "outbound"),
        ("sms", "undelivered", "outbound"),
        ("sms", "received", "inbound"),
        ("call", "queued", "outbound"),
        ("call", "no-answer", "outbound"),
        ("call", "ringing", "inbound"),
    ],
)
def test_a_status_the_console_shows_is_counted(kind: str, status: str, direction: str) -> None:
    assert is_counted(kind, status, direction)


@pytest.mark.parametrize(
    ("kind", "status", "direction"),
    [
        ("sms", "queued", "outbound"),
        ("sms", "sending", "outbound"),
        ("call", "ringing", "outbound"),
        ("call", "in-progress", "outbound"),
        ("sms", "retrying", "outbound"),
    ],
)
def test_a_step_on_the_way_is_not_counted(kind: str, status: str, direction: str) -> None:
    assert not is_counted(kind, status, direction)
