"""Text messages through the whole local stack."""

from __future__ import annotations

import json
import secrets

import pytest
from azure.storage.queue import TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def number() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


async def test_sms_reaches_delivered_with_its_full_history(stack: RunningStack) -> None:
    record_id = await stack.send_sms(number(), "Your code is 1234")

    record = await stack.final("sms", record_id, {"delivered"})

    history = [event["status"] for event in record["history"]]
    assert history == ["accepted", "sending", "queued", "sent", "delivered"]
    assert record["twilio_sid"].startswith("SM") and record["attempts"] == 1


async def test_request_without_function_key_gets_401(stack: RunningStack) -> None:
    async with stack.http.post(f"{stack.base_url}/api/messages", json={"to": number()}) as response:
        assert response.status == 401


async def test_invalid_request_gets_400_naming_the_field(stack: RunningStack) -> None:
    status, body = await stack.api("POST", "/api/messages", json={"to": "12", "body": "x"})

    assert status == 400 and body["error"]["field"] == "to"


@pytest.mark.parametrize("encode", [False, True], ids=["plain", "base64-sdk"])
async def test_message_put_on_the_queue_by_another_service_is_sent(
    stack: RunningStack, encode: bool
) -> None:
    record_id = f"queued-{secrets.token_hex(4)}"
    document = {"kind": "sms", "id": record_id, "to": number(), "body": "from a Logic App"}
    policy = TextBase64EncodePolicy() if encode else None
    async with QueueClient.from_connection_string(
        stack.storage, "outbound", message_encode_policy=policy
    ) as queue:
        await queue.send_message(json.dumps(document))

    record = await stack.final("sms", record_id, {"delivered"})

    assert record["attempts"] == 1


async def test_permanently_failing_number_ends_failed_after_one_attempt(
    stack: RunningStack,
) -> None:
    record_id = await stack.send_sms("+15005550001")

    record = await stack.final("sms", record_id, {"failed"})

    assert record["error_code"] == 21211 and record["attempts"] == 1
    creates = await stack.sim("GET", "/_sim/requests")
    assert len([r for r in creates["requests"] if r["method"] == "POST"]) == 1


async def test_transient_faults_are_retried_until_sent(stack: RunningStack) -> None:
    to = number()
    rules = [{"kind": "429", "to": to, "count": 1}, {"kind": "503", "to": to, "count": 1}]
    await stack.sim("POST", "/_sim/faults", json={"rules": rules})

    record_id = await stack.send_sms(to)
    record = await stack.final("sms", record_id, {"delivered"})

    assert record["attempts"] == 3
    assert [e["status"] for e in record["history"]].count("retrying") == 2


async def test_created_then_500_is_reconciled_not_sent_twice(stack: RunningStack) -> None:
    to = number()
    await stack.sim(
        "POST", "/_sim/faults", json={"rules": [{"kind": "created_then_500", "to": to, "count": 1}]}
    )

    record_id = await stack.send_sms(to)
    record = await stack.final("sms", record_id, {"delivered"})

    sent = [m for m in (await stack.sim("GET", "/_sim/messages"))["messages"] if m["to"] == to]
    assert len(sent) == 1
    assert record["twilio_sid"] == sent[0]["sid"]


async def test_message_refused_past_the_retry_budget_ends_failed_not_sent(
    stack: RunningStack,
) -> None:
    to = number()
    await stack.sim("POST", "/_sim/faults", json={"rules": [{"kind": "429", "to": to}]})

    record_id = await stack.send_sms(to)
    record = await stack.final("sms", record_id, {"failed"})

    assert "gave up after" in record["error_message"] and record["error_code"] == 20429
    assert record["attempts"] >= 3
    sent = await stack.sim("GET", "/_sim/messages")
    assert [message for message in sent["messages"] if message["to"] == to] == []


async def test_message_that_may_have_been_sent_past_the_budget_is_reconciled_then_failed(
    stack: RunningStack,
) -> None:
    to = number()
    await stack.sim("POST", "/_sim/faults", json={"rules": [{"kind": "503", "to": to}]})

    record_id = await stack.send_sms(to)
    record = await stack.final("sms", record_id, {"failed"})

    assert "no trace of it at Twilio" in record["error_message"]
    sent = await stack.sim("GET", "/_sim/messages")
    assert [message for message in sent["messages"] if message["to"] == to] == []


async def test_a_message_waiting_out_refusals_shows_when_it_tries_next(
    stack: RunningStack,
) -> None:
    to = number()
    await stack.sim("POST", "/_sim/faults", json={"rules": [{"kind": "429", "to": to, "count": 2}]})

    record_id = await stack.send_sms(to)
    waiting = await stack.eventually(
        lambda: stack.record("sms", record_id), lambda body: "next_attempt_at" in body
    )
    record = await stack.final("sms", record_id, {"delivered"})

    assert waiting["status"] == "sending" and waiting["error_code"] == 20429
    assert record["attempts"] == 3 and "next_attempt_at" not in record


async def test_inbound_sms_gets_the_configured_reply(stack: RunningStack) -> None:
    answer = await stack.sim(
        "POST",
        "/_sim/inbound/sms",
        json={
            "url": f"{stack.base_url}/api/twilio/sms",
            "from": number(),
            "to": "+15005550006",
            "body": "hi",
        },
    )

    assert answer["status"] == 200
    assert "<Message>Thanks, we got your message.</Message>" in answer["body"]


async def test_forged_webhook_gets_403(stack: RunningStack) -> None:
    async with stack.http.post(
        f"{stack.base_url}/api/twilio/sms",
        data={"From": number(), "Body": "hi"},
        headers={"X-Twilio-Signature": "forged"},
    ) as response:
        assert response.status == 403


async def test_inbound_mms_is_listed_with_body_and_media(stack: RunningStack) -> None:
    sender = number()
    await stack.sim(
        "POST",
        "/_sim/inbound/sms",
        json={
            "url": f"{stack.base_url}/api/twilio/sms",
            "from": sender,
            "to": "+15005550006",
            "body": "the photo",
            "media_urls": ["https://api.twilio.com/media/ME1.jpg"],
        },
    )

    status, page = await stack.api(
        "GET", "/api/messages", params={"direction": "inbound", "number": sender}
    )

    assert status == 200
    (item,) = page["items"]
    assert (item["body"], item["media_urls"]) == (
        "the photo",
        ["https://api.twilio.com/media/ME1.jpg"],
    )
    assert item["id"].startswith("MM") and item["status"] == "received"


async def test_event_grid_event_on_the_queue_is_sent_once_under_its_id(
    stack: RunningStack,
) -> None:
    event_id = f"evt-{secrets.token_hex(6)}"
    event = {
        "id": event_id,
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
        "subject": "orders/1",
        "eventType": "Contoso.Order.Shipped",
        "eventTime": "2026-11-26T20:00:00Z",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "data": {"kind": "sms", "to": number(), "body": "Your order shipped."},
    }
    async with QueueClient.from_connection_string(
        stack.storage, "outbound", message_encode_policy=TextBase64EncodePolicy()
    ) as queue:
        await queue.send_message(json.dumps(event))
        await queue.send_message(json.dumps(event))  # Event Grid delivers at least once

    record = await stack.final("sms", event_id, {"delivered"})

    assert record["attempts"] == 1
    sent = await stack.sim("GET", "/_sim/messages")
    assert [m["body"] for m in sent["messages"]].count("Your order shipped.") == 1
