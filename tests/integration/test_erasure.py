"""Erasing a number against Azurite: nothing of it left anywhere, its ids stay spent, its STOP
stands, and Twilio is asked to delete its resources when the settings say so."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
import pytest
from azure.core.exceptions import ServiceRequestError

from shared.domain.records import utcnow
from shared.handlers import retention_timer
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.fake_twilio import reply, twilio_error
from tests.support.personal_data import (
    OTHER_PERSON,
    PERSON,
    call,
    every_row,
    rows_mentioning,
    run_queue,
    sent_and_delivered,
    texted,
)
from tests.support.requests import HOST, api_get, api_post

pytestmark = pytest.mark.integration


def timer() -> func.TimerRequest:
    from azure.functions.timer import TimerRequest

    return TimerRequest(past_due=False)


def erasure(number: str) -> func.HttpRequest:
    return func.HttpRequest(
        "DELETE", f"{HOST}/api/numbers/{number}", route_params={"number": number}, body=b""
    )


async def erase(number: str) -> tuple[int, Any]:
    response = await call("erase_number", erasure(number))
    return response.status_code, json.loads(response.get_body())


async def traffic(gateway: Gateway, number: str = PERSON, key: str | None = None) -> list[str]:
    record_id, sid = await sent_and_delivered(
        gateway.services, gateway.twilio, PUBLIC_BASE_URL, AUTH_TOKEN, to=number, key=key
    )
    inbound = await texted(PUBLIC_BASE_URL, AUTH_TOKEN, "thanks", sender=number)
    return [record_id, sid, inbound]


async def test_after_erasing_a_number_no_table_holds_it(gateway: Gateway) -> None:
    ids = await traffic(gateway)
    await texted(PUBLIC_BASE_URL, AUTH_TOKEN, "STOP")
    kept = await traffic(gateway, OTHER_PERSON)

    status, body = await erase(PERSON)

    rows = await every_row(gateway.services)
    assert (status, body["erased"]) == (200, 3)
    assert rows_mentioning(rows, PERSON[1:], f"hello {PERSON}", ids[1]) == []
    assert rows_mentioning(rows, OTHER_PERSON[1:]) != [] and await gateway.services.log.get(kept[0])


async def test_what_is_left_of_an_erased_record_is_a_tombstone_without_its_content(
    gateway: Gateway,
) -> None:
    record_id, _, _ = await traffic(gateway)

    await erase(PERSON)

    rows = await every_row(gateway.services)
    left = [row for row in rows[gateway.services.settings.message_log_table]
            if row["PartitionKey"] == record_id]  # fmt: skip
    assert [sorted(row) for row in left] == [
        ["PartitionKey", "RowKey", "direction", "erased", "erased_at", "kind"]
    ]


async def test_an_erased_id_answers_404_saying_it_was_erased(gateway: Gateway) -> None:
    record_id, _, _ = await traffic(gateway)
    await erase(PERSON)

    response = await call("get_message", api_get(f"messages/{record_id}", {"id": record_id}))

    body = json.loads(response.get_body())
    assert (response.status_code, body["error"]["code"]) == (404, "erased")


async def test_a_retry_of_an_erased_request_is_not_sent_again(gateway: Gateway) -> None:
    await traffic(gateway, key="order-17-reminder")
    await erase(PERSON)
    creates = len(gateway.twilio.creates)

    response = await call(
        "send_message",
        api_post("messages", {"to": PERSON, "body": f"hello {PERSON}"},
                 {"Idempotency-Key": "order-17-reminder"}),
    )  # fmt: skip
    await run_queue(gateway.services)

    assert response.status_code == 409
    assert json.loads(response.get_body())["error"]["code"] == "erased"
    assert len(gateway.twilio.creates) == creates


async def test_a_queue_message_for_an_erased_id_is_not_sent(gateway: Gateway) -> None:
    await traffic(gateway, key="from-a-service")
    await erase(PERSON)
    creates = len(gateway.twilio.creates)
    document = {"id": "from-a-service", "kind": "sms", "to": PERSON, "body": "again"}
    await gateway.services.queue.send_message(json.dumps(document))

    await run_queue(gateway.services)

    assert len(gateway.twilio.creates) == creates


async def test_a_number_that_texted_stop_is_still_refused_after_erasure(gateway: Gateway) -> None:
    await texted(PUBLIC_BASE_URL, AUTH_TOKEN, "STOP")
    await erase(PERSON)
    await gateway.reload()  # another instance: what it knows comes from the table
    creates = len(gateway.twilio.creates)

    created = await call("send_message", api_post("messages", {"to": PERSON, "body": "hi"}))
    await run_queue(gateway.services)

    record = await gateway.services.log.get(json.loads(created.get_body())["id"])
    assert record is not None and record.error_code == 21610
    assert len(gateway.twilio.creates) == creates


async def test_erasing_again_finds_nothing_left(gateway: Gateway) -> None:
    await traffic(gateway)
    await erase(PERSON)

    assert await erase(PERSON) == (200, {"erased": 0, "twilio": {"deleted": 0, "pending": 0}})


async def test_an_erasure_interrupted_by_storage_answers_503_and_resumes_when_repeated(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await traffic(gateway)
    await traffic(gateway)
    bury = gateway.services.log.bury
    calls = 0

    async def fails_once(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ServiceRequestError("storage went away")
        await bury(*args)

    monkeypatch.setattr(gateway.services.log, "bury", fails_once)
    interrupted, _ = await erase(PERSON)
    status, body = await erase(PERSON)

    assert interrupted == 503 and status == 200 and body["erased"] >= 1
    assert rows_mentioning(await every_row(gateway.services), PERSON[1:]) == []


async def test_a_number_that_is_not_e164_is_refused_naming_it(gateway: Gateway) -> None:
    status, body = await erase("5557654321")

    assert (status, body["error"]["field"]) == (400, "number")


async def test_the_numbers_list_filter_reads_only_that_numbers_rows(gateway: Gateway) -> None:
    await traffic(gateway)
    await traffic(gateway, OTHER_PERSON)
    request = func.HttpRequest("GET", f"{HOST}/api/messages", params={"number": PERSON}, body=b"")

    response = await call("list_messages", request)

    items = json.loads(response.get_body())["items"]
    assert {PERSON} == {item["to"] if item["direction"] == "outbound" else item["from"]
                        for item in items} and len(items) == 2  # fmt: skip


async def test_opt_outs_kept_in_clear_are_moved_to_their_hash_and_still_honoured(
    gateway: Gateway,
) -> None:
    table = gateway.services.tables.get_table_client(gateway.services.settings.opt_out_table)
    await table.create_entity(
        {"PartitionKey": PERSON, "RowKey": "opt-out", "opted_out": True, "keyword": "STOP"}
    )
    await gateway.reload()

    honoured_before = await gateway.services.opt_outs.is_opted_out(PERSON)
    await retention_timer.run(timer())
    await gateway.reload()

    rows = await every_row(gateway.services)
    assert honoured_before and await gateway.services.opt_outs.is_opted_out(PERSON)
    assert rows_mentioning(rows, PERSON[1:]) == []


async def test_with_twilio_deletion_on_the_resources_are_deleted_at_twilio_or_owed(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_DELETE_ON_ERASURE", "true")
    await gateway.reload()
    _, sid, inbound = await traffic(gateway)
    not_final = twilio_error(409, 20009, "Cannot delete message because it is not final")
    gateway.twilio.script(reply(204, {}), not_final)

    _, body = await erase(PERSON)
    owed_before = await (await gateway.services.retention()).owed_deletions(10)
    gateway.twilio.script(reply(204, {}))
    await retention_timer.run(timer())

    deletes = [r.path.rsplit("/", 1)[1] for r in gateway.twilio.requests if r.method == "DELETE"]
    assert body["twilio"] == {"deleted": 1, "pending": 1} and len(owed_before) == 1
    assert sorted(deletes[:2]) == sorted([f"{sid}.json", f"{inbound}.json"])
    assert deletes[2] == f"{owed_before[0].sid}.json"
    assert await (await gateway.services.retention()).owed_deletions(10) == []


async def test_an_erasure_logs_counts_never_the_number(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    await traffic(gateway)
    caplog.set_level("INFO")

    await erase(PERSON)

    assert PERSON[1:] not in caplog.text and "number_erased" in caplog.text
    assert utcnow()


async def test_the_numbers_list_filter_pages_with_continuation_tokens(gateway: Gateway) -> None:
    for _ in range(3):
        await traffic(gateway)
    params = {"number": PERSON, "limit": "2"}
    seen: list[str] = []
    for _ in range(5):
        response = await call(
            "list_messages",
            func.HttpRequest("GET", f"{HOST}/api/messages", params=params, body=b""),
        )
        body = json.loads(response.get_body())
        assert response.status_code == 200, body
        seen += [item["id"] for item in body["items"]]
        if body["continuation"] is None:
            break
        params = {**params, "continuation": body["continuation"]}

    assert len(seen) == len(set(seen)) == 6
