"""What of a record lives at Twilio: its messages, calls and recordings, by SID."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.delivery.twilio_deletion import resources_of
from shared.domain.records import LogRecord

NOW = datetime(2030, 1, 1, tzinfo=UTC)
RECORDING = "RE" + "a" * 32


def test_an_outbound_sms_is_its_message() -> None:
    record = LogRecord("r-1", "sms", "delivered", 100, "+15551234567", NOW, NOW, twilio_sid="SM1")

    assert resources_of(record, [record.to_entity()]) == [("sms", "SM1")]


def test_an_inbound_call_is_its_call_and_its_recording_first() -> None:
    record = LogRecord(
        "CA1", "call", "completed", 100, "+15005550006", NOW, NOW, direction="inbound",
        recording_url=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{RECORDING}",
    )  # fmt: skip

    assert resources_of(record, [record.to_entity()]) == [("recording", RECORDING), ("call", "CA1")]


def test_what_is_not_a_twilio_sid_is_left_alone() -> None:
    rows = [{"RowKey": "event-1", "twilio_sid": "XX1"}]

    assert resources_of(None, rows) == []
