"""A record's CloudEvents, derived from its history: types, ids, sequence, data and schema."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from shared.domain.event_types import ALL_TYPES, DEFAULT_TYPES, PREFIX, resolve
from shared.domain.events import DATA_SCHEMA, cloud_event, event_id, status_changes, with_body
from shared.domain.outbound import OutboundRequest
from shared.domain.records import LogEvent, LogRecord
from shared.domain.transitions import (
    GATEWAY,
    TWILIO,
    inbound_record,
    new_outbound_record,
    revive,
    withdraw,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
TO = "+15551234567"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "shared/domain/event_data.schema.json"
SOURCE = "https://gateway.example.com"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def sms(**changes: Any) -> LogRecord:
    request = OutboundRequest(id="sms-1", kind="sms", to=TO, from_="+15005550006", body="hi")
    record, _ = new_outbound_record(request, source="api", store_bodies=True, now=T0)
    return replace(record, **changes)


def sent_then_delivered() -> list[LogEvent]:
    return [
        LogEvent("accepted", GATEWAY, at=at(0)),
        LogEvent("sending", GATEWAY, at=at(1)),
        LogEvent("queued", TWILIO, at=at(2), twilio_sid="SM1"),
        LogEvent("checking", GATEWAY, at=at(2.5)),
        LogEvent("sent", TWILIO, at=at(3), twilio_sid="SM1"),
        LogEvent("delivered", TWILIO, at=at(4), twilio_sid="SM1"),
    ]


def types_of(record: LogRecord, history: list[LogEvent]) -> list[str]:
    return [change.type.removeprefix(PREFIX + ".") for change in status_changes(record, history)]


def test_each_status_a_record_reaches_is_one_event_in_history_order() -> None:
    assert types_of(sms(), sent_then_delivered()) == [
        "sms.accepted",
        "sms.sending",
        "sms.queued",
        "sms.sent",
        "sms.delivered",
    ]


def test_a_late_status_that_moves_nothing_is_history_not_an_event() -> None:
    history = sent_then_delivered()
    history.append(LogEvent("sent", TWILIO, at=at(5), twilio_sid="SM1"))
    assert types_of(sms(), history)[-1] == "sms.delivered"
    assert types_of(sms(), history).count("sms.sent") == 1


def test_news_of_another_sid_is_no_event_of_this_record() -> None:
    history = [*sent_then_delivered()[:3], LogEvent("failed", TWILIO, at=at(9), twilio_sid="SM2")]
    assert "sms.failed" not in types_of(sms(), history)


def test_twilio_after_a_gateway_failure_is_an_event_after_it() -> None:
    history = [
        LogEvent("accepted", GATEWAY, at=at(0)),
        LogEvent("sending", GATEWAY, at=at(1)),
        LogEvent("failed", GATEWAY, at=at(2)),
        LogEvent("delivered", TWILIO, at=at(3), twilio_sid="SM1"),
    ]
    changes = status_changes(sms(), history)
    assert [c.status for c in changes][-2:] == ["failed", "delivered"]
    assert changes[-2].sequence < changes[-1].sequence


def test_events_sort_by_sequence_into_history_order() -> None:
    changes = status_changes(sms(), sent_then_delivered())
    by_sequence = sorted(changes, key=lambda change: change.sequence)
    assert by_sequence == changes
    assert all(len(change.sequence) == 4 for change in changes)


def test_the_sequence_does_not_depend_on_the_history_kept() -> None:
    full = status_changes(sms(), sent_then_delivered())
    trimmed = status_changes(sms(), [sent_then_delivered()[0], *sent_then_delivered()[3:]])
    assert {c.status: c.sequence for c in trimmed}.items() <= {
        c.status: c.sequence for c in full
    }.items()


def test_the_same_change_has_the_same_id_whoever_derives_it() -> None:
    first = cloud_event(sms(), status_changes(sms(), sent_then_delivered())[-1], SOURCE)
    again = cloud_event(
        sms(attempts=3), status_changes(sms(), sent_then_delivered())[-1], "https://other"
    )
    assert first["id"] == again["id"] == event_id("sms-1", first["type"], first["sequence"])


def test_different_records_and_changes_have_different_ids() -> None:
    changes = status_changes(sms(), sent_then_delivered())
    ids = {cloud_event(sms(), change, SOURCE)["id"] for change in changes}
    ids.add(cloud_event(replace(sms(), id="sms-2"), changes[-1], SOURCE)["id"])
    assert len(ids) == len(changes) + 1


def test_a_received_text_is_sms_received_with_its_message() -> None:
    record, event = inbound_record("SM9", "sms", "received", TO, "+15557654321", "STOP", True)
    (change,) = status_changes(record, [event])
    data = cloud_event(record, change, SOURCE)["data"]
    assert change.type == f"{PREFIX}.sms.received"
    assert (data["message"], data["from"], data["receivedTimestamp"]) == (
        "STOP",
        "+15557654321",
        record.created_at.isoformat(),
    )


def test_a_received_call_is_call_received_then_its_statuses() -> None:
    record, event = inbound_record("CA9", "call", "ringing", TO, "+15557654321", None, False)
    history = [
        event,
        LogEvent("voicemail", TWILIO, at=event.at + timedelta(seconds=20), twilio_sid="CA9"),
        LogEvent("completed", TWILIO, at=event.at + timedelta(seconds=30), twilio_sid="CA9"),
    ]
    assert types_of(record, history) == ["call.received", "call.voicemail", "call.completed"]


def test_a_revived_request_keeps_the_id_of_its_first_accept() -> None:
    record = sms()
    gone = withdraw(record, "queue down")(record)
    assert gone is not None
    back = revive()(replace(record, status="withdrawn", status_rank=100))
    assert back is not None
    history = [LogEvent("accepted", GATEWAY, at=at(0)), gone.event, back.event]
    changes = status_changes(record, history)
    assert [c.status for c in changes] == ["accepted", "withdrawn"]


def test_the_default_set_is_final_statuses_and_arrivals() -> None:
    short = {name.removeprefix(PREFIX + ".") for name in DEFAULT_TYPES}
    assert {"sms.delivered", "sms.failed", "call.completed", "sms.received"} <= short
    assert {"call.received", "call.voicemail", "sms.read"} <= short
    assert not {"sms.sent", "sms.accepted", "call.ringing", "sms.sending"} & short


def test_a_filter_takes_default_all_and_short_or_full_names() -> None:
    assert resolve(["all"]) == set(ALL_TYPES)
    assert resolve(["default", "sms.sent"]) == DEFAULT_TYPES | {f"{PREFIX}.sms.sent"}
    assert resolve([f"{PREFIX}.call.busy"]) == {f"{PREFIX}.call.busy"}
    with pytest.raises(ValueError, match=r"sms\.sant"):
        resolve(["sms.sant"])


def test_outbound_sms_data_carries_the_acs_names() -> None:
    record = sms(status="failed", status_rank=100, error_code=30003, error_message="unreachable")
    history = [*sent_then_delivered()[:3], LogEvent("failed", TWILIO, at=at(5), twilio_sid="SM1")]
    data = cloud_event(record, status_changes(record, history)[-1], SOURCE)["data"]
    assert data["messageId"] == "sms-1"
    assert (data["deliveryStatus"], data["deliveryStatusDetails"]) == ("failed", "unreachable")
    assert (data["previousStatus"], data["final"], data["errorCode"]) == ("queued", True, 30003)
    assert "body" not in data


def test_a_body_goes_out_only_where_asked() -> None:
    event = cloud_event(sms(), status_changes(sms(), sent_then_delivered())[-1], SOURCE)
    assert with_body(event, sms())["data"]["body"] == "hi"
    assert "body" not in event["data"]
    assert "body" not in with_body(event, sms(body=None))["data"]


def test_every_event_is_a_cloudevent_whose_data_fits_the_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema_rs.validator_for(schema)
    inbound, first = inbound_record("SM9", "sms", "received", TO, "+15557654321", "yo", True)
    cases = [(sms(tag="t"), sent_then_delivered()), (inbound, [first])]
    for record, history in cases:
        for change in status_changes(record, history):
            event = cloud_event(record, change, SOURCE)
            event["data"] = with_body(event, record)["data"]
            validator.validate(event["data"])
            assert event["specversion"] == "1.0"
            assert (event["subject"], event["source"]) == (record.id, SOURCE)
            assert event["dataschema"] == DATA_SCHEMA == schema["$id"]
            assert event["time"] == change.event.at.isoformat()
