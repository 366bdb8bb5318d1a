"""How an HTTP answer and ``Retry-After`` become an Outcome."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.publish.outcome import (
    Delivered,
    Gone,
    Refused,
    RetryLater,
    outcome_of_status,
    parse_retry_after,
)

NOW = datetime(2026, 12, 2, 1, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_is_delivered(status: int) -> None:
    assert outcome_of_status(status, "x") == Delivered(status)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504, 599])
def test_throttling_timeouts_and_server_errors_are_retried(status: int) -> None:
    assert isinstance(outcome_of_status(status, "x"), RetryLater)


def test_a_410_is_gone() -> None:
    assert outcome_of_status(410, "the webhook on a.example") == Gone(
        "the webhook on a.example answered 410"
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_client_errors_are_refused(status: int) -> None:
    assert isinstance(outcome_of_status(status, "x"), Refused)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_refused_and_says_it_was_not_followed(status: int) -> None:
    outcome = outcome_of_status(status, "x")

    assert isinstance(outcome, Refused)
    assert "not followed" in outcome.reason


def test_retry_after_reaches_the_outcome() -> None:
    assert outcome_of_status(503, "x", "120") == RetryLater("x answered 503", 120.0)


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("30") == 30.0


def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    assert parse_retry_after("Wed, 02 Dec 2026 01:01:30 GMT", now=NOW) == 90.0


def test_retry_after_a_date_in_the_past_is_now() -> None:
    assert parse_retry_after("Wed, 02 Dec 2026 00:00:00 GMT", now=NOW) == 0.0


def test_retry_after_with_spaces_around_it_is_read() -> None:
    assert parse_retry_after(" 30 ") == 30.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "٣٠"])
def test_a_retry_after_that_is_neither_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None
