"""The OpenAPI document against the code: every field and status the API can answer is in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.domain.records import LogRecord
from shared.domain.status import KINDS, Kind, UnknownStatusError, gateway_rank, twilio_rank
from shared.handlers.api_reference import DOCUMENT

SCHEMAS: dict[str, Any] = json.loads(DOCUMENT.read_text())["components"]["schemas"]
AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _known(kind: Kind, status: str) -> bool:
    for rank in (gateway_rank, twilio_rank):
        try:
            rank(kind, status)
        except UnknownStatusError:
            continue
        return True
    return False


@pytest.mark.parametrize("kind", KINDS)
def test_every_documented_status_is_one_the_gateway_knows(kind: Kind) -> None:
    documented = SCHEMAS[f"{kind.capitalize()}Status"]["enum"]

    assert [status for status in documented if not _known(kind, status)] == []
    assert {"accepted", "rejected", "failed", "withdrawn", "unknown"} <= set(documented)


@pytest.mark.parametrize(
    "content",
    [
        {"body": "hi", "media_urls": json.dumps(["https://example.com/a.png"])},
        {"body_length": 2},
        {"say": "hello", "url": "https://example.com/twiml", "recording_url": "https://x/r"},
    ],
)
def test_every_field_a_record_shows_is_documented(content: dict[str, Any]) -> None:
    record = LogRecord(
        id="a", kind="sms", status="accepted", status_rank=0, to="+15557654321",
        created_at=AT, updated_at=AT, tag="t", send_at=AT, **content,
    )  # fmt: skip

    shown = set(record.public_json())

    assert shown - set(SCHEMAS["Record"]["properties"]) == set()
