"""Index rows from before the number rows, rewritten once by the retention timer: the numbers
leave the time rows, and erasure and the number filter find those records."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from shared.delivery.erasure import erase_number
from shared.delivery.index_migration import move_numbers
from shared.domain.records import LogEvent, LogRecord, utcnow
from shared.storage.message_index import index_entity
from tests.integration.conftest import Gateway
from tests.support.personal_data import (
    OUR_NUMBER,
    PERSON,
    call,
    every_row,
    rows_mentioning,
)
from tests.support.requests import HOST
from tests.support.spies import first_arguments

pytestmark = pytest.mark.integration


async def logged_the_old_way(gateway: Gateway, record_id: str) -> None:
    """A record and its index row as the gateway wrote them before the number rows."""
    now = utcnow()
    record = LogRecord(
        id=record_id, kind="sms", status="delivered", status_rank=100, to=PERSON,
        from_=OUR_NUMBER, created_at=now, updated_at=now,
    )  # fmt: skip
    await gateway.services.log.create(record, LogEvent("delivered", "twilio", at=now))
    table = gateway.services.index._table
    await table.create_entity({**index_entity(record), "to": PERSON, "from_": OUR_NUMBER})


async def test_old_time_rows_lose_their_numbers_and_gain_number_rows(gateway: Gateway) -> None:
    await logged_the_old_way(gateway, "old-1")

    moved = await move_numbers(gateway.services)

    index = (await every_row(gateway.services))[gateway.services.settings.message_index_table]
    assert moved == 1 and rows_mentioning({"index": index}, PERSON[1:]) == []
    assert len(index) == 3


async def test_after_the_move_the_number_filter_and_the_erasure_find_old_records(
    gateway: Gateway,
) -> None:
    await logged_the_old_way(gateway, "old-1")
    await move_numbers(gateway.services)

    listed = await call(
        "list_messages",
        func.HttpRequest("GET", f"{HOST}/api/messages", params={"number": PERSON}, body=b""),
    )
    report = await erase_number(gateway.services, PERSON)

    assert [item["id"] for item in json.loads(listed.get_body())["items"]] == ["old-1"]
    assert report.records == 1


async def test_once_a_whole_pass_is_done_the_index_is_not_read_again(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await logged_the_old_way(gateway, "old-1")
    await move_numbers(gateway.services)
    reads = first_arguments(gateway.services.index._table, "query_entities", monkeypatch)

    assert await move_numbers(gateway.services) == 0
    assert reads == []
