"""Bodies for less time than records, against Azurite: content goes, history stays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.delivery.redaction import redact
from shared.domain.records import Change, LogEvent, LogRecord, utcnow
from tests.integration.conftest import Gateway
from tests.support.personal_data import OUR_NUMBER, PERSON, every_row, rows_mentioning
from tests.support.spies import first_arguments

pytestmark = pytest.mark.integration

BODY = "your appointment is on Tuesday"
LATER = timedelta(days=8)


async def logged(gateway: Gateway, record_id: str, status: str, rank: int) -> None:
    now = utcnow()
    record = LogRecord(
        id=record_id, kind="sms", status=status, status_rank=rank, to=PERSON, from_=OUR_NUMBER,
        created_at=now, updated_at=now, body=BODY, media_urls='["https://example.com/a.png"]',
    )  # fmt: skip
    created = await gateway.services.log.create(record, LogEvent(status, "twilio", at=now))
    await gateway.services.index.add(created)


@pytest.fixture
async def seven_days(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    monkeypatch.setenv("BODY_RETENTION_DAYS", "7")
    await gateway.reload()
    return gateway


async def test_a_final_records_content_is_dropped_and_its_history_kept(seven_days: Gateway) -> None:
    await logged(seven_days, "done", "delivered", 100)

    redacted = await redact(seven_days.services, utcnow() + LATER)

    found = await seven_days.services.log.read("done")
    assert found is not None and redacted == 1
    record, history = found
    assert (record.body, record.media_urls, record.body_length) == (None, None, len(BODY))
    assert [event.status for event in history] == ["delivered", "redacted"]
    assert rows_mentioning(await every_row(seven_days.services), BODY, "a.png") == []


async def test_a_record_not_final_keeps_its_content_until_it_is(seven_days: Gateway) -> None:
    await logged(seven_days, "open", "sent", 50)

    first = await redact(seven_days.services, utcnow() + LATER)
    await seven_days.services.log.update(
        "open",
        lambda _: Change(
            LogEvent("delivered", "twilio"), {"status": "delivered", "status_rank": 100}
        ),
    )
    second = await redact(seven_days.services, utcnow() + LATER)

    assert (first, second) == (0, 1)


async def test_a_day_done_is_not_read_again(
    seven_days: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await logged(seven_days, "done", "delivered", 100)
    await redact(seven_days.services, utcnow() + LATER)
    reads = first_arguments(seven_days.services.log._table, "query_entities", monkeypatch)

    assert await redact(seven_days.services, utcnow() + LATER) == 0
    assert reads == []


async def test_without_the_setting_nothing_is_dropped(gateway: Gateway) -> None:
    await logged(gateway, "done", "delivered", 100)

    assert await redact(gateway.services, utcnow() + LATER) == 0
    record = await gateway.services.log.get("done")
    assert record is not None and record.body == BODY
