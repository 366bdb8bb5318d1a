"""The summary's own history: appended on every write, bounded by the property's size."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.message_log import MAX_HISTORY_CHARS, LogEvent, LogRecord, events_of, with_event

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def record() -> LogRecord:
    return LogRecord("r-1", "sms", "accepted", 0, "+15551234567", NOW, NOW)


def test_events_come_back_in_the_order_they_were_written() -> None:
    written = with_event(
        with_event(record(), LogEvent("accepted", "gateway", at=NOW)),
        LogEvent("sending", "gateway", at=NOW, note="attempt 1"),
    )

    assert [(event.status, event.note) for event in events_of(written)] == [
        ("accepted", None),
        ("sending", "attempt 1"),
    ]
    assert events_of(written)[0].at == NOW


def test_history_past_the_size_limit_drops_the_oldest_but_keeps_the_first() -> None:
    current = with_event(record(), LogEvent("accepted", "gateway", at=NOW))
    for n in range(400):
        current = with_event(
            current, LogEvent("retrying", "gateway", at=NOW, note="x" * 200 + str(n))
        )

    events = events_of(current)
    assert current.history is not None and len(current.history) <= MAX_HISTORY_CHARS
    assert events[0].status == "accepted"
    assert events[-1].note is not None and events[-1].note.endswith("399")
