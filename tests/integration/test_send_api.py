"""POST /api/messages|calls and GET /api/messages|calls/{id} against Azurite."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError

from shared.delivery.services import reset_services
from shared.domain.outbound import parse_request
from tests.integration.conftest import Gateway
from tests.support.app import user_function
from tests.support.fake_twilio import reply
from tests.support.requests import api_get, api_post

pytestmark = pytest.mark.integration

SMS = {"to": "+15551234567", "body": "Your code is 1234"}
CALL = {"to": "+15551234567", "say": "Hello from the gateway"}


async def test_sms_is_accepted_logged_and_queued(gateway: Gateway) -> None:
    response = await user_function("send_message")(api_post("messages", SMS))

    assert response.status_code == 202
    body = json.loads(response.get_body())
    assert body["status"] == "accepted"
    assert body["status_url"] == f"/api/messages/{body['id']}"
    record = await gateway.services.log.get(body["id"])
    assert record is not None and record.status == "accepted" and record.body == SMS["body"]
    queued = await gateway.queued_messages()
    ids = [parse_request(json.loads(m.get_body()), from_queue=True).id for m in queued]
    assert ids == [body["id"]]


async def test_call_is_accepted_with_kind_call(gateway: Gateway) -> None:
    response = await user_function("place_call")(api_post("calls", CALL))

    assert response.status_code == 202
    record = await gateway.services.log.get(json.loads(response.get_body())["id"])
    assert record is not None and record.kind == "call"


async def test_invalid_request_is_refused_naming_the_field(gateway: Gateway) -> None:
    response = await user_function("send_message")(api_post("messages", {"to": "555", "body": "x"}))

    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["field"] == "to"
    assert await gateway.queued_messages() == []


async def test_call_content_rule_applies_to_the_calls_route(gateway: Gateway) -> None:
    response = await user_function("place_call")(
        api_post("calls", {"to": "+15551234567", "say": "hi", "url": "https://x.example/t"})
    )

    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["code"] == "conflicting_call_content"


async def test_not_json_is_refused(gateway: Gateway) -> None:
    response = await user_function("send_message")(api_post("messages", b"to=+1555"))

    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["code"] == "invalid_json"


async def test_oversized_body_is_refused_with_413(gateway: Gateway) -> None:
    response = await user_function("send_message")(api_post("messages", b"{" + b" " * 70000))

    assert response.status_code == 413


async def test_idempotent_repeat_returns_the_first_answer_and_sends_once(gateway: Gateway) -> None:
    send = user_function("send_message")
    headers = {"Idempotency-Key": "order-42"}

    first = await send(api_post("messages", SMS, headers))
    await gateway.queued_messages()
    second = await send(api_post("messages", SMS, headers))

    assert first.status_code == second.status_code == 202
    assert json.loads(first.get_body()) == json.loads(second.get_body())
    assert json.loads(second.get_body())["id"] == "order-42"


async def test_repeat_of_an_unsent_request_is_queued_again(gateway: Gateway) -> None:
    send = user_function("send_message")
    headers = {"Idempotency-Key": "order-43"}

    await send(api_post("messages", SMS, headers))
    await send(api_post("messages", SMS, headers))

    assert len(await gateway.queued_messages()) == 2


async def test_repeat_of_a_request_twilio_has_accepted_is_not_queued_again(
    gateway: Gateway,
) -> None:
    send = user_function("send_message")
    headers = {"Idempotency-Key": "order-45"}
    await send(api_post("messages", SMS, headers))
    (message,) = await gateway.queued_messages()
    gateway.twilio.script(reply(201, {"sid": "SM" + "4" * 32, "status": "accepted"}))
    await user_function("outbound_worker")(message)
    before = (await gateway.queue.get_queue_properties()).approximate_message_count

    await send(api_post("messages", SMS, headers))

    record = await gateway.services.log.get("order-45")
    assert record is not None and record.status == "accepted" and record.twilio_sid
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == before


async def test_same_key_with_another_payload_is_a_409(gateway: Gateway) -> None:
    send = user_function("send_message")
    headers = {"Idempotency-Key": "order-44"}

    await send(api_post("messages", SMS, headers))
    response = await send(api_post("messages", {**SMS, "body": "other"}, headers))

    assert response.status_code == 409
    assert json.loads(response.get_body())["error"]["code"] == "idempotency_conflict"


async def test_body_id_differing_from_the_key_is_refused(gateway: Gateway) -> None:
    response = await user_function("send_message")(
        api_post("messages", {**SMS, "id": "a"}, {"Idempotency-Key": "b"})
    )

    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["code"] == "id_mismatch"


async def test_scheduled_send_is_hidden_on_the_queue(gateway: Gateway) -> None:
    from datetime import UTC, datetime, timedelta

    send_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    response = await user_function("send_message")(
        api_post("messages", {**SMS, "send_at": send_at})
    )

    assert response.status_code == 202
    assert await gateway.queued_messages() == []


async def test_status_of_an_unknown_id_is_404(gateway: Gateway) -> None:
    response = await user_function("get_message")(api_get("messages/nope", {"id": "nope"}))

    assert response.status_code == 404


async def test_status_of_a_call_id_on_the_messages_route_is_404(gateway: Gateway) -> None:
    created = await user_function("place_call")(api_post("calls", CALL))
    call_id = json.loads(created.get_body())["id"]

    response = await user_function("get_message")(api_get(f"messages/{call_id}", {"id": call_id}))

    assert response.status_code == 404


async def test_status_shows_summary_and_history(gateway: Gateway) -> None:
    created = await user_function("send_message")(api_post("messages", {**SMS, "tag": "t-1"}))
    record_id = json.loads(created.get_body())["id"]

    response = await user_function("get_message")(
        api_get(f"messages/{record_id}", {"id": record_id})
    )

    body = json.loads(response.get_body())
    assert response.status_code == 200
    assert body["status"] == "accepted" and body["tag"] == "t-1"
    assert [event["status"] for event in body["history"]] == ["accepted"]


async def test_storage_down_answers_503_with_retry_after(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
    )
    await reset_services()

    response = await user_function("send_message")(api_post("messages", SMS))

    assert response.status_code == 503
    assert response.headers["Retry-After"]


async def nothing() -> None:
    return None


def fail_enqueue_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, *, after: Callable[[], Awaitable[None]]
) -> None:
    """The next enqueue runs ``after`` and then fails as a dropped connection would."""
    real = gateway.queue.send_message
    fired = False

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal fired
        if fired:
            return await real(*args, **kwargs)
        fired = True
        await after()
        raise ServiceResponseError("the connection was reset")

    monkeypatch.setattr(gateway.queue, "send_message", flaky)


async def test_enqueue_failure_withdraws_the_accept_and_a_retry_sends_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_enqueue_once(gateway, monkeypatch, after=nothing)
    key = {"Idempotency-Key": "flaky-1"}

    refused = await user_function("send_message")(api_post("messages", SMS, key))
    withdrawn = await gateway.services.log.get("flaky-1")
    retried = await user_function("send_message")(api_post("messages", SMS, key))
    for message in await gateway.queued_messages():
        await user_function("outbound_worker")(message)

    assert refused.status_code == 503
    assert withdrawn is not None and withdrawn.status == "withdrawn"
    assert retried.status_code == 202
    assert len(gateway.twilio.creates) == 1


async def test_enqueue_failure_after_the_worker_sent_it_answers_202(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = {"Idempotency-Key": "flaky-2"}
    request = parse_request({**SMS, "kind": "sms", "id": "flaky-2"})

    async def stored_and_sent() -> None:
        await gateway.queue.send_message(request.to_json())
        for message in await gateway.queued_messages():
            await user_function("outbound_worker")(message)

    fail_enqueue_once(gateway, monkeypatch, after=stored_and_sent)

    first = await user_function("send_message")(api_post("messages", SMS, key))
    again = await user_function("send_message")(api_post("messages", SMS, key))

    assert (first.status_code, again.status_code) == (202, 202)
    assert len(gateway.twilio.creates) == 1
    assert await gateway.queued_messages() == []


async def test_accepted_messages_never_expire_on_the_queue(gateway: Gateway) -> None:
    await user_function("send_message")(api_post("messages", SMS))

    (message,) = await gateway.queue.peek_messages()

    assert message.expires_on is not None and message.expires_on.year == 9999


async def test_without_a_default_sender_from_is_required(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_FROM_NUMBER")
    await gateway.reload()

    response = await user_function("send_message")(api_post("messages", SMS))

    assert response.status_code == 400
    assert json.loads(response.get_body())["error"]["field"] == "from"
