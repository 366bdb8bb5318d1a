"""Parsing a list request: every bad parameter is a 400 naming it, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.handlers.list_api import EARLIEST, LATEST, parse_list_request
from shared.platform.http import HttpError

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_limit_too_long_for_int_is_a_400_naming_it() -> None:
    with pytest.raises(HttpError) as refused:
        parse_list_request("sms", {"limit": "9" * 5000}, NOW)

    assert refused.value.status == 400 and refused.value.error.field == "limit"


@pytest.mark.parametrize(
    ("name", "value", "clamped"),
    [
        ("since", "0001-01-01T00:00:00+01:00", EARLIEST),
        ("since", "1969-12-31T23:59:59Z", EARLIEST),
        ("until", "9999-12-31T23:59:59-01:00", LATEST),
        ("until", "3000-01-01T04:00:00+05:00", LATEST),
    ],
)
def test_times_beyond_the_index_are_clamped_to_it(name: str, value: str, clamped: datetime) -> None:
    request = parse_list_request("sms", {name: value}, NOW)

    assert getattr(request.query, name) == clamped


def test_an_until_at_the_start_of_time_lists_from_1970() -> None:
    request = parse_list_request("sms", {"until": "0001-01-01T00:00:00Z"}, NOW)

    assert request.query.since == request.query.until == EARLIEST
