"""Log lines: phone numbers masked, empty fields dropped."""

from __future__ import annotations

import logging

import pytest

from shared import logs
from shared.logs import mask_number, mask_numbers_in


def test_mask_number_keeps_country_prefix_and_last_four() -> None:
    assert mask_number("+15551234567") == "+1555***4567"


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+1555123", "***23"), ("12345", "***45"), ("1", "***1"), ("", ""), (None, "")],
)
def test_mask_number_short_or_empty(number: str | None, masked: str) -> None:
    assert mask_number(number) == masked


def test_mask_numbers_in_text() -> None:
    assert mask_numbers_in("to +15551234567 at 12:00") == "to +1555***4567 at 12:00"


@pytest.fixture
def gateway_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="gateway")
    return caplog


def test_log_masks_to_and_from_in_text_and_dimensions(
    gateway_log: pytest.LogCaptureFixture,
) -> None:
    logs.info("sent", id="abc", to="+15551234567", from_="+15557654321")

    (record,) = gateway_log.records
    assert record.getMessage() == "sent id=abc to=+1555***4567 from_=+1555***4321"
    assert "+15551234567" not in record.getMessage()
    dimensions = getattr(record, "custom_dimensions")  # noqa: B009
    assert dimensions == {
        "event": "sent",
        "id": "abc",
        "to": "+1555***4567",
        "from_": "+1555***4321",
    }


def test_log_drops_none_fields_and_keeps_level(gateway_log: pytest.LogCaptureFixture) -> None:
    logs.error("boom", id="abc", sid=None)

    (record,) = gateway_log.records
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "boom id=abc")
