"""The summary's own history, bounded by the property's size, and callback rows folded on read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from shared.domain.records import MAX_HISTORY_CHARS, LogEvent, LogRecord, events_of, with_event
from shared.storage.message_log import (
    FOLD_ANY,
    FOLD_INBOUND,
    FOLD_PROPERTY,
    from_rows,
    sids_in,
    tombstone_entity,
)

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


def row(key: str, status: str, **properties: object) -> dict[str, object]:
    return {"PartitionKey": "r-1", "RowKey": key, "status": status, "source": "twilio",
            "at": NOW, **properties}  # fmt: skip


def folded_statuses(record: LogRecord, event: LogEvent, inbound_only: bool) -> LogRecord:
    """A fold that shows what it was given: the status, and '!' for inbound-only rows."""
    return replace(record, status=record.status + ">" + event.status + "!" * inbound_only)


def test_rows_marked_to_fold_are_folded_in_row_order_and_others_are_history_only() -> None:
    summary = record().to_entity()
    rows = [
        row("event-1", "sent", fold=FOLD_ANY),
        row("event-2", "note"),
        row("event-3", "completed", fold=FOLD_INBOUND),
        summary,
    ]

    found = from_rows(rows, folded_statuses)

    assert found is not None
    assert found[0].status == "accepted>sent>completed!"
    assert [event.status for event in found[1]] == ["sent", "note", "completed"]


def test_callback_rows_without_a_summary_are_no_record() -> None:
    assert from_rows([row("event-1", "sent", fold=FOLD_ANY)], folded_statuses) is None


def test_a_tombstone_reads_as_no_record_whatever_rows_remain() -> None:
    rows = [
        {"RowKey": "event-1", "PartitionKey": "r-1", "status": "delivered", "source": "twilio",
         "at": NOW, FOLD_PROPERTY: FOLD_ANY},
        tombstone_entity("r-1", "sms", "outbound"),
    ]  # fmt: skip

    assert from_rows(sorted(rows, key=lambda row: row["RowKey"]), folded_statuses) is None


def test_a_tombstone_holds_nothing_of_the_record() -> None:
    assert set(tombstone_entity("r-1", "sms", "outbound")) == {
        "PartitionKey", "RowKey", "erased", "kind", "direction", "erased_at",
    }  # fmt: skip


def test_every_sid_a_record_names_is_found_in_summary_history_and_rows() -> None:
    summary = replace(
        with_event(record(), LogEvent("queued", "twilio", at=NOW, twilio_sid="SM1")),
        twilio_sid="SM2",
    ).to_entity()
    callback = {"RowKey": "event-1", "twilio_sid": "SM3"}

    assert sids_in([summary, callback]) == {"SM1", "SM2", "SM3"}
