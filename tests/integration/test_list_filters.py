"""The lists' status, tag, id and SID filters against Azurite: a status page fills up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.records import LogEvent, LogRecord
from shared.handlers import list_api
from tests.integration.conftest import Gateway
from tests.integration.test_list_api import CALLER, OUR_NUMBER, all_pages, listing

pytestmark = pytest.mark.integration


async def logged(
    gateway: Gateway, record_id: str, at: datetime, status: str = "delivered", **fields: Any
) -> None:
    record = LogRecord(
        id=record_id, kind="sms", status=status, status_rank=100, to=CALLER,
        from_=OUR_NUMBER, created_at=at, updated_at=at, **fields,
    )  # fmt: skip
    created = await gateway.services.log.create(record, LogEvent(status, "twilio", at=at))
    await gateway.services.index.add(created)


async def test_a_status_page_fills_up_past_records_of_other_statuses(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    for n in range(30):
        outcome = "failed" if n % 10 == 9 else "delivered"
        await logged(gateway, f"mixed-{n:02d}", now - timedelta(minutes=n), outcome)

    code, body = await listing("sms", status="failed", limit="1")

    assert code == 200
    assert [item["id"] for item in body["items"]] == ["mixed-09"]
    assert body["continuation"] is not None


async def test_status_pages_return_every_match_once_newest_first(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    for n in range(25):
        status = "failed" if n % 3 == 0 else "delivered"
        await logged(gateway, f"every-{n:02d}", now - timedelta(hours=5 * n), status)

    items, _ = await all_pages("sms", status="failed", limit="2")

    assert [item["id"] for item in items] == [f"every-{n:02d}" for n in range(0, 25, 3)]


async def test_a_status_page_stops_at_its_read_budget_with_a_continuation(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(list_api, "MAX_SUMMARY_READS", 5)
    now = datetime.now(UTC)
    for n in range(8):
        await logged(gateway, f"budget-{n}", now - timedelta(minutes=n), "delivered")
    await logged(gateway, "budget-old-failed", now - timedelta(minutes=30), "failed")

    _, first = await listing("sms", status="failed", limit="10")
    items, _ = await all_pages("sms", status="failed", limit="10")

    assert first["items"] == []
    assert first["continuation"] is not None
    assert [item["id"] for item in items] == ["budget-old-failed"]


async def test_tag_filter_comes_from_the_index(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    await logged(gateway, "tagged-1", now - timedelta(minutes=2), tag="night-alerts")
    await logged(gateway, "tagged-2", now - timedelta(minutes=1), tag="other")

    _, body = await listing("sms", tag="night-alerts")

    assert [item["id"] for item in body["items"]] == ["tagged-1"]


async def test_id_filter_answers_that_record_alone(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    await logged(gateway, "by-id-1", now - timedelta(minutes=2))
    await logged(gateway, "by-id-2", now - timedelta(minutes=1))

    _, body = await listing("sms", id="by-id-1")
    _, refused = await listing("sms", id="by-id-1", status="failed")

    assert [item["id"] for item in body["items"]] == ["by-id-1"]
    assert body["continuation"] is None
    assert refused["items"] == []


async def test_id_filter_finds_a_record_older_than_the_default_window(gateway: Gateway) -> None:
    await logged(gateway, "by-id-old", datetime.now(UTC) - timedelta(days=90))

    _, found = await listing("sms", id="by-id-old")
    _, outside = await listing("sms", id="by-id-old", until="2000-01-01T00:00:00Z")

    assert [item["id"] for item in found["items"]] == ["by-id-old"]
    assert outside["items"] == []


async def test_sid_filter_finds_the_record_that_owns_the_sid(gateway: Gateway) -> None:
    sid = "SM" + "ab" * 16
    now = datetime.now(UTC)
    await logged(gateway, "owns-sid", now, twilio_sid=sid)
    await gateway.services.sids.claim(sid, "owns-sid")

    _, body = await listing("sms", sid=sid)
    _, none = await listing("sms", sid="SM" + "cd" * 16)

    assert [item["id"] for item in body["items"]] == ["owns-sid"]
    assert none["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [({"id": "a b"}, "id"), ({"sid": "SM123"}, "sid"), ({"tag": "x" * 257}, "tag")],
)
async def test_bad_record_filters_get_400_naming_them(
    gateway: Gateway, query: dict[str, str], field: str
) -> None:
    status, body = await listing("sms", **query)

    assert status == 400 and body["error"]["field"] == field
