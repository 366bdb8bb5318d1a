"""The index's keys and tokens: newest first by plain string order, tokens that round-trip."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.records import LogRecord
from shared.storage.message_index import (
    InvalidContinuationError,
    Position,
    index_entities,
    index_entity,
    partition,
    row_key,
)

AT = datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=UTC)


def token_of(data: object) -> str:
    raw = json.dumps(data).encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def record(record_id: str, at: datetime, kind: str = "sms") -> LogRecord:
    return LogRecord(
        id=record_id, kind=kind, status="accepted", status_rank=0, to="+15551234567",
        created_at=at, updated_at=at, from_="+15005550006",
    )  # fmt: skip


def test_later_records_sort_first_by_row_key() -> None:
    keys = [row_key(AT - timedelta(microseconds=n), "x") for n in (0, 1, 10**6, 10**12)]

    assert keys == sorted(keys)


def test_same_instant_records_keep_both_rows() -> None:
    assert row_key(AT, "a") != row_key(AT, "b")


def test_partition_is_kind_and_utc_day() -> None:
    late_in_tokyo = datetime(2026, 11, 27, 8, 0, tzinfo=UTC).astimezone()

    entity = index_entity(record("r1", late_in_tokyo, kind="call"))

    assert entity["PartitionKey"] == "call-20261127" == partition("call", date(2026, 11, 27))
    assert (entity["id"], entity["direction"]) == ("r1", "outbound")


def test_index_rows_hold_no_number_in_clear() -> None:
    rows = index_entities(record("r1", AT), lambda number: f"key{number[-4:]}")

    assert "+1555" not in repr(rows) and "+1500" not in repr(rows)


def test_each_number_of_a_record_has_its_own_row_after_every_time_row() -> None:
    rows = index_entities(record("r1", AT), lambda number: f"key{number[-4:]}")
    keys = [row["RowKey"] for row in rows]

    assert keys[1:] == [f"n-key4567-{keys[0]}", f"n-key0006-{keys[0]}"]
    assert all(key > "9" * 40 for key in keys[1:])


@pytest.mark.parametrize(
    "position", [Position(date(2026, 1, 2)), Position(AT.date(), row_key(AT, "x"))]
)
def test_continuation_token_round_trips(position: Position) -> None:
    assert Position.from_token(position.token()) == position


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "%%%",
        base64.urlsafe_b64encode(b'{"d": "yesterday", "r": null}').decode(),
        base64.urlsafe_b64encode(b'{"d": "2026-11-26", "r": 5}').decode(),
        base64.urlsafe_b64encode(b'["2026-11-26"]').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[" * 1500).decode(),
        token_of({"d": "2026-11-26", "r": "\ud800"}),
        token_of({"d": "2026-11-26", "r": "0-x"}),
        token_of({"d": "2026-11-26", "r": None, "x": 1}),
        token_of({"d": "\u0662026-11-26", "r": None}),
        token_of({"d": "2026-02-30", "r": None}),
        "A" * 201,
    ],
)
def test_foreign_tokens_are_refused_as_invalid(token: str) -> None:
    with pytest.raises(InvalidContinuationError):
        Position.from_token(token)


WEEK = (AT - timedelta(days=7), AT)


@pytest.mark.parametrize(
    "position",
    [
        Position(date(9999, 12, 31)),
        Position(AT.date() + timedelta(days=1)),
        Position(AT.date() - timedelta(days=8)),
        Position(AT.date(), row_key(AT + timedelta(seconds=1), "x")),
        Position(AT.date() - timedelta(days=1), row_key(AT, "x")),
    ],
)
def test_token_outside_the_requested_range_is_refused(position: Position) -> None:
    with pytest.raises(InvalidContinuationError):
        Position.from_token(position.token()).check_within(*WEEK)


def test_token_of_a_page_inside_the_range_is_taken() -> None:
    position = Position(AT.date(), row_key(AT - timedelta(hours=1), "x"))

    Position.from_token(position.token()).check_within(*WEEK)
