"""The log's pure transitions: what a delivery may do and how a record moves."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.outbound import OutboundRequest
from shared.domain.records import Change, LogEvent, LogRecord
from shared.domain.status import TERMINAL_RANK, Kind
from shared.domain.transitions import (
    AMBIGUOUS,
    GIVEN_UP,
    IN_FLIGHT,
    NOT_SENT,
    TWILIO,
    Decider,
    SendPlan,
    attempt_failed,
    claim,
    failed,
    fold_callback,
    give_up,
    inbound_record,
    new_outbound_record,
    plan_send,
    rejected_record,
    twilio_status,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
TO = "+15551234567"
SMS = OutboundRequest(id="sms-1", kind="sms", to=TO, body="hello there", tag="t1")
CALL = OutboundRequest(id="call-1", kind="call", to=TO, say="hello")


def accepted(kind: Kind = "sms", **changes: Any) -> LogRecord:
    record, _ = new_outbound_record(
        SMS if kind == "sms" else CALL, source="api", store_bodies=True, now=NOW
    )
    return replace(record, **changes)


def claimed(kind: Kind = "sms", **changes: Any) -> LogRecord:
    status = "sending" if kind == "sms" else "dialing"
    base: dict[str, Any] = {
        "status": status,
        "status_rank": 1,
        "attempts": 1,
        "claimed_at": NOW,
        "last_outcome": IN_FLIGHT,
    }
    return accepted(kind, **{**base, **changes})


def apply(decide: Decider, record: LogRecord) -> Change:
    change = decide(record)
    assert change is not None
    return change


def delivered(**changes: Any) -> LogRecord:
    return claimed(status="delivered", status_rank=TERMINAL_RANK, twilio_sid="SM1", **changes)


@pytest.mark.parametrize(
    ("record", "now", "plan"),
    [
        pytest.param(accepted(), NOW, SendPlan.SEND, id="accepted_sends"),
        pytest.param(accepted("call"), NOW, SendPlan.SEND, id="accepted_call_sends"),
        pytest.param(claimed(twilio_sid="SM1"), NOW, SendPlan.DONE, id="has_sid_is_done"),
        pytest.param(
            accepted(twilio_sid="SM1"), NOW, SendPlan.DONE, id="accepted_with_sid_is_done"
        ),
        pytest.param(delivered(), NOW, SendPlan.DONE, id="terminal_is_done"),
        pytest.param(
            accepted(status="failed", status_rank=TERMINAL_RANK),
            NOW,
            SendPlan.DONE,
            id="gateway_failed_is_done",
        ),
        pytest.param(
            accepted(status="rejected", status_rank=TERMINAL_RANK),
            NOW,
            SendPlan.DONE,
            id="rejected_is_done",
        ),
        pytest.param(
            claimed(last_outcome=NOT_SENT), NOW, SendPlan.SEND, id="claimed_not_sent_sends"
        ),
        pytest.param(
            claimed(last_outcome=AMBIGUOUS), NOW, SendPlan.WAIT, id="ambiguous_waits_for_its_lease"
        ),
        pytest.param(
            claimed(last_outcome=GIVEN_UP),
            NOW + 2 * LEASE,
            SendPlan.DONE,
            id="given_up_is_left_to_the_status_checks",
        ),
        pytest.param(
            claimed(last_outcome=AMBIGUOUS),
            NOW + LEASE,
            SendPlan.RECONCILE,
            id="ambiguous_past_its_lease_reconciles",
        ),
        pytest.param(
            claimed(), NOW + LEASE - timedelta(seconds=1), SendPlan.WAIT, id="in_flight_waits"
        ),
        pytest.param(
            claimed(),
            NOW + LEASE + timedelta(seconds=1),
            SendPlan.RECONCILE,
            id="in_flight_past_lease_reconciles",
        ),
        pytest.param(claimed("call"), NOW, SendPlan.WAIT, id="dialing_in_flight_waits"),
        pytest.param(
            claimed("call", last_outcome=NOT_SENT), NOW, SendPlan.SEND, id="dialing_not_sent"
        ),
        pytest.param(
            claimed(claimed_at=None, updated_at=NOW - 2 * LEASE),
            NOW,
            SendPlan.RECONCILE,
            id="no_claimed_at_uses_updated_at",
        ),
    ],
)
def test_plan_send(record: LogRecord, now: datetime, plan: SendPlan) -> None:
    assert plan_send(record, now, LEASE) is plan


def test_claim_returns_none_when_the_etag_changed() -> None:
    planned = accepted(etag="W/1")

    assert claim(planned, NOW)(replace(planned, etag="W/2")) is None


@pytest.mark.parametrize(("kind", "status"), [("sms", "sending"), ("call", "dialing")])
def test_claim_bumps_attempts_and_sets_the_claim_status(kind: Kind, status: str) -> None:
    planned = accepted(kind, etag="W/1", attempts=2)

    change = claim(planned, NOW)(planned)

    assert change is not None
    assert change.event.status == status
    assert dict(change.summary) == {
        "status": status,
        "status_rank": 1,
        "attempts": 3,
        "claimed_at": NOW,
        "last_outcome": IN_FLIGHT,
        "updated_at": NOW,
    }


def test_twilio_status_moves_the_summary_forward_and_sets_the_sid() -> None:
    change = apply(twilio_status("queued", sid="SM1", outcome="sent"), claimed())

    assert change.event.status == "queued"
    assert change.event.source == "twilio"
    assert change.summary["status"] == "queued"
    assert change.summary["status_rank"] == 3
    assert change.summary["twilio_sid"] == "SM1"
    assert change.summary["last_outcome"] == "sent"


@pytest.mark.parametrize(
    ("record", "late"),
    [
        pytest.param(delivered(), "sent", id="sent_after_delivered"),
        pytest.param(
            claimed(status="sent", status_rank=5, twilio_sid="SM1"),
            "queued",
            id="queued_after_sent",
        ),
        pytest.param(
            claimed("call", status="in-progress", status_rank=6, twilio_sid="CA1"),
            "ringing",
            id="ringing_after_in_progress",
        ),
        pytest.param(delivered(), "undelivered", id="second_terminal"),
    ],
)
def test_late_twilio_status_only_adds_history(record: LogRecord, late: str) -> None:
    change = apply(twilio_status(late, sid=record.twilio_sid), record)

    assert change.event.status == late
    assert dict(change.summary) == {}


def test_twilio_status_for_another_sid_is_history_only() -> None:
    change = apply(twilio_status("delivered", sid="SM2"), claimed(twilio_sid="SM1"))

    assert change.summary == {}
    assert change.event.twilio_sid == "SM2"


def test_late_twilio_status_still_records_a_missing_sid() -> None:
    record = claimed(status="sent", status_rank=5)

    change = apply(twilio_status("queued", sid="SM1"), record)

    assert change.summary["twilio_sid"] == "SM1"
    assert "status" not in change.summary


def test_twilio_failure_records_error_code_and_message() -> None:
    decide = twilio_status("failed", sid="SM1", error_code=30003, error_message="Unreachable")

    change = apply(decide, claimed(twilio_sid="SM1", status="sent", status_rank=5))

    assert change.summary["status"] == "failed"
    assert change.summary["status_rank"] == TERMINAL_RANK
    assert (change.summary["error_code"], change.summary["error_message"]) == (
        30003,
        "Unreachable",
    )
    assert change.event.error_code == 30003


def test_twilio_sid_supersedes_a_gateway_give_up() -> None:
    gave_up = claimed(
        status="failed", status_rank=TERMINAL_RANK, error_message="gave up after 5 attempts"
    )

    change = apply(twilio_status("delivered", sid="SM9"), gave_up)

    assert change.summary["status"] == "delivered"
    assert change.summary["twilio_sid"] == "SM9"
    assert change.summary["error_message"] is None


def test_failed_marks_a_live_record_terminal_with_the_reason() -> None:
    change = apply(failed(21211, "invalid To"), claimed())

    assert change.event.status == "failed"
    assert change.summary["status"] == "failed"
    assert change.summary["status_rank"] == TERMINAL_RANK
    assert change.summary["error_code"] == 21211
    assert change.summary["error_message"] == "invalid To"


def test_failed_without_code_leaves_error_code_out() -> None:
    change = apply(failed(None, "gave up after 5 attempts"), claimed())

    assert "error_code" not in change.summary


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(delivered(), id="terminal"),
        pytest.param(claimed(twilio_sid="SM1", status="sent", status_rank=5), id="has_sid"),
    ],
)
def test_failed_on_a_finished_or_sent_record_only_adds_history(record: LogRecord) -> None:
    change = apply(failed(None, "gave up"), record)

    assert change.event.status == "failed"
    assert dict(change.summary) == {}


@pytest.mark.parametrize(("ambiguous", "outcome"), [(True, AMBIGUOUS), (False, NOT_SENT)])
def test_attempt_failed_says_what_the_retry_must_check(ambiguous: bool, outcome: str) -> None:
    change = apply(attempt_failed("Twilio answered 503", ambiguous=ambiguous, code=None), claimed())

    assert change.event.status == "retrying"
    assert change.event.error_message == "Twilio answered 503"
    assert change.summary["last_outcome"] == outcome


def test_attempt_failed_after_a_sid_only_adds_history() -> None:
    change = apply(attempt_failed("timeout", ambiguous=True, code=None), claimed(twilio_sid="SM1"))

    assert dict(change.summary) == {}


def test_new_outbound_record_is_accepted_with_the_request_fingerprint() -> None:
    record, event = new_outbound_record(SMS, source="queue", store_bodies=True, now=NOW)

    assert (record.status, record.status_rank, record.attempts) == ("accepted", 0, 0)
    assert record.request_hash == SMS.fingerprint()
    assert (record.source, record.tag, record.body) == ("queue", "t1", "hello there")
    assert record.created_at == record.updated_at == NOW
    assert (event.status, event.source) == ("accepted", "gateway")


def test_new_outbound_record_without_bodies_keeps_only_length_and_hash() -> None:
    record, _ = new_outbound_record(SMS, source="api", store_bodies=False, now=NOW)

    assert record.body is None
    assert record.body_length == len("hello there")
    assert record.body_sha256 == hashlib.sha256(b"hello there").hexdigest()


def test_new_outbound_record_without_bodies_drops_say() -> None:
    record, _ = new_outbound_record(CALL, source="api", store_bodies=False, now=NOW)

    assert record.say is None


def test_new_outbound_record_keeps_media_urls_as_json() -> None:
    request = replace(SMS, media_urls=("https://example.com/a.png",))

    record, _ = new_outbound_record(request, source="api", store_bodies=False, now=NOW)

    assert json.loads(record.media_urls or "") == ["https://example.com/a.png"]


def test_inbound_sms_record_is_terminal_and_keyed_by_sid() -> None:
    record, event = inbound_record("SM9", "sms", "received", "+15005550006", TO, "hi", True)

    assert (record.id, record.twilio_sid, record.direction) == ("SM9", "SM9", "inbound")
    assert (record.status, record.status_rank) == ("received", TERMINAL_RANK)
    assert (record.from_, record.body) == (TO, "hi")
    assert (event.status, event.source, event.twilio_sid) == ("received", "twilio", "SM9")


def test_inbound_call_record_ranks_as_a_twilio_call_status() -> None:
    record, _ = inbound_record("CA9", "call", "ringing", "+15005550006", TO, None, False)

    assert (record.kind, record.status_rank) == ("call", 5)


def test_inbound_record_without_bodies_keeps_the_length() -> None:
    record, _ = inbound_record("SM9", "sms", "received", "+15005550006", TO, "hi!", False)

    assert (record.body, record.body_length) == (None, 3)


def test_inbound_record_without_bodies_keeps_the_hash() -> None:
    record, _ = inbound_record("SM9", "sms", "received", "+15005550006", TO, "hi!", False)

    assert record.body_sha256 == hashlib.sha256(b"hi!").hexdigest()


def test_rejected_record_is_terminal_with_the_reason() -> None:
    record, event = rejected_record("q-1", "sms", TO, "invalid_to", "bad number")

    assert (record.status, record.status_rank) == ("rejected", TERMINAL_RANK)
    assert record.error_message == "invalid_to: bad number"
    assert event.error_message == record.error_message


def test_give_up_leaves_a_send_that_may_have_reached_twilio_open() -> None:
    change = apply(give_up(20503, "gave up after 5 attempts"), claimed(last_outcome=AMBIGUOUS))

    assert change.summary["last_outcome"] == GIVEN_UP
    assert "status" not in change.summary


def test_give_up_fails_a_send_that_cannot_have_reached_twilio() -> None:
    change = apply(give_up(20429, "gave up after 5 attempts"), claimed(last_outcome=NOT_SENT))

    assert change.summary["status"] == "failed"


def callback(status: str, sid: str | None = "SM1", **fields: Any) -> LogEvent:
    return LogEvent(status, TWILIO, at=NOW + timedelta(seconds=5), twilio_sid=sid, **fields)


def test_a_folded_callback_moves_the_record_as_a_written_one_would() -> None:
    record = fold_callback(claimed(), callback("delivered"), False)

    assert (record.status, record.status_rank, record.twilio_sid) == (
        "delivered",
        TERMINAL_RANK,
        "SM1",
    )
    assert record.updated_at == NOW + timedelta(seconds=5)


def test_a_folded_callback_never_moves_a_record_back() -> None:
    delivered = fold_callback(claimed(), callback("delivered"), False)

    assert fold_callback(delivered, callback("sent"), False) == delivered


def test_a_folded_callback_for_inbound_records_only_leaves_an_outbound_one_alone() -> None:
    assert fold_callback(claimed(), callback("delivered"), True) == claimed()


def test_a_folded_callback_with_a_status_of_the_other_kind_is_history_only() -> None:
    assert fold_callback(claimed(), callback("completed"), False) == claimed()


def test_a_folded_read_after_delivered_is_shown_and_a_late_delivered_does_not_undo_it() -> None:
    delivered = fold_callback(claimed(), callback("delivered"), False)

    read = fold_callback(delivered, callback("read"), False)

    assert read.status == "read"
    assert fold_callback(read, callback("delivered"), False) == read


def test_a_folded_final_status_after_another_final_is_history_only() -> None:
    delivered = fold_callback(claimed(), callback("delivered"), False)

    assert fold_callback(delivered, callback("undelivered"), False) == delivered
