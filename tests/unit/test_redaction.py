"""The redaction rule: a final record loses what it said, never what happened to it."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.records import LogRecord
from shared.domain.redaction import CONTENT_FIELDS, redact_content

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def record(rank: int, body: str | None = None, say: str | None = None) -> LogRecord:
    return LogRecord("r-1", "sms", "delivered", rank, "+15551234567", NOW, NOW, body=body, say=say)


def test_a_final_record_loses_its_content_and_keeps_the_body_length() -> None:
    change = redact_content(NOW, 7)(record(100, body="hello", say="hi"))

    assert change is not None
    assert {name: change.summary[name] for name in CONTENT_FIELDS} == dict.fromkeys(CONTENT_FIELDS)
    assert change.summary["body_length"] == 5 and "status" not in change.summary


def test_an_open_record_keeps_its_content() -> None:
    assert redact_content(NOW, 7)(record(50, body="hello")) is None


def test_a_record_with_nothing_to_drop_is_left_alone() -> None:
    assert redact_content(NOW, 7)(record(100)) is None
