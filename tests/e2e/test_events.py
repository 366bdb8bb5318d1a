"""Events out through the whole local stack: the host publishes to the webhook receiver and
the Event Grid stand-in over HTTP, and an independent verifier checks the signatures."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import AUTH_TOKEN, FROM_NUMBER, RunningStack
from tests.support.event_destinations import (
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_2,
    EventGridStandInProcess,
    WebhookReceiverProcess,
)

pytestmark = pytest.mark.e2e

PREFIX = "io.github.twilio-gateway."
WITHIN = 30.0


def number() -> str:
    return "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))


def about(subject: str, path: str | None = None) -> Any:
    def which(entry: dict[str, Any]) -> bool:
        event = entry.get("event") or {}
        return bool(
            event.get("subject") == subject
            and (path is None or entry.get("path") == path)
            and 200 <= int(entry.get("status") or 200) < 300
        )

    return which


def short(event: dict[str, Any]) -> str:
    return str(event["type"]).removeprefix(PREFIX)


def of_type(subject: str, wanted: str, path: str | None = None) -> Any:
    mine = about(subject, path)

    def which(entry: dict[str, Any]) -> bool:
        return bool(mine(entry)) and short(entry["event"]) == wanted

    return which


async def each_of(
    receiver: WebhookReceiverProcess, subject: str, types: tuple[str, ...], path: str | None = None
) -> list[dict[str, Any]]:
    """Waits until every one of ``types`` arrived (in whatever order), then all of the
    subject's entries."""
    for wanted in types:
        await receiver.wait_for_async(1, WITHIN, of_type(subject, wanted, path))
    return [entry for entry in receiver.received() if about(subject, path)(entry)]


async def test_every_transition_of_an_sms_reaches_the_webhook_signed_and_in_order(
    stack: RunningStack, webhook_receiver: WebhookReceiverProcess
) -> None:
    record_id = await stack.send_sms(number())
    await stack.final("sms", record_id, {"delivered"})

    wanted = ("sms.accepted", "sms.sending", "sms.sent", "sms.delivered")
    entries = await each_of(webhook_receiver, record_id, wanted, "/events")
    for entry in entries:
        Webhook(WEBHOOK_SECRET).verify(entry["body"], entry["headers"])
        assert entry["headers"]["webhook-id"] == entry["event"]["id"]
    events = sorted((entry["event"] for entry in entries), key=lambda e: e["sequence"])
    types = [short(event) for event in events]
    assert types[0] == "sms.accepted" and types[-1] == "sms.delivered"
    assert {"sms.sending", "sms.sent"} <= set(types)
    _, record = await stack.api("GET", f"/api/messages/{record_id}")
    history = [entry["status"] for entry in record["history"]]
    positions = [history.index(event["data"]["status"]) for event in events]
    assert positions == sorted(positions)


async def test_the_default_set_reaches_event_grid_once_per_final_status(
    stack: RunningStack, event_grid: EventGridStandInProcess
) -> None:
    record_id = await stack.send_sms(number())
    await stack.final("sms", record_id, {"delivered"})

    (entry,) = await event_grid.wait_for_async(1, WITHIN, about(record_id))
    event = entry["event"]
    assert (short(event), entry["schema"]) == ("sms.delivered", "cloudevents")
    assert event["data"]["deliveryStatus"] == "delivered"
    await asyncio.sleep(2)
    assert len([e for e in event_grid.events() if e["subject"] == record_id]) == 1


async def test_an_inbound_text_is_sms_received_with_its_message(
    stack: RunningStack, event_grid: EventGridStandInProcess
) -> None:
    sender = number()
    answer = await stack.sim(
        "POST",
        "/_sim/inbound/sms",
        json={"url": f"{stack.base_url}/api/twilio/sms", "from": sender, "to": FROM_NUMBER,
              "body": "STOP please"},
    )  # fmt: skip
    sid = answer["sid"]

    (entry,) = await event_grid.wait_for_async(1, WITHIN, about(sid))
    assert short(entry["event"]) == "sms.received"
    assert (entry["event"]["data"]["message"], entry["event"]["data"]["from"]) == (
        "STOP please",
        sender,
    )


async def test_an_inbound_call_and_its_voicemail_are_events(
    stack: RunningStack, webhook_receiver: WebhookReceiverProcess
) -> None:
    answer = await stack.sim(
        "POST",
        "/_sim/inbound/call",
        json={"url": f"{stack.base_url}/api/twilio/voice", "from": number(), "to": FROM_NUMBER},
    )
    sid = answer["sid"]
    url = f"{stack.base_url}/api/twilio/voice/recorded"
    params = {
        "CallSid": sid,
        "RecordingUrl": "https://api.twilio.com/recordings/RE1",
        "RecordingDuration": "7",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    async with stack.http.post(url, data=params, headers={"X-Twilio-Signature": signature}) as r:
        assert r.status == 200

    entries = await each_of(webhook_receiver, sid, ("call.received", "call.voicemail"))
    types = {short(entry["event"]) for entry in entries}
    assert {"call.received", "call.voicemail"} <= types
    (voicemail,) = [e["event"] for e in entries if short(e["event"]) == "call.voicemail"]
    assert voicemail["data"]["recordingUrl"] == params["RecordingUrl"]


async def test_a_callback_url_gets_its_records_events_signed_with_the_callback_secret(
    stack: RunningStack, webhook_receiver: WebhookReceiverProcess
) -> None:
    path = f"/cb/{secrets.token_hex(4)}"
    record_id = await stack.send_sms(
        number(), callback_url=webhook_receiver.url(path), callback_events=["sms.sent", "default"]
    )
    await stack.final("sms", record_id, {"delivered"})

    entries = await each_of(webhook_receiver, record_id, ("sms.sent", "sms.delivered"), path)
    assert {short(entry["event"]) for entry in entries} == {"sms.delivered", "sms.sent"}
    for entry in entries:
        Webhook(WEBHOOK_SECRET_2).verify(entry["body"], entry["headers"])


async def test_a_410_switches_off_that_records_callback_url(
    stack: RunningStack, webhook_receiver: WebhookReceiverProcess
) -> None:
    path = f"/cb/{secrets.token_hex(4)}"
    webhook_receiver.fault(status=410, path=path)
    record_id = await stack.send_sms(number(), callback_url=webhook_receiver.url(path),
                                     callback_events=["all"])  # fmt: skip
    await stack.final("sms", record_id, {"delivered"})

    def gone(body: dict[str, Any]) -> bool:
        return any(e["status"] == "callback_gone" for e in body.get("history", []))

    await stack.eventually(lambda: stack.record("sms", record_id), gone)
    await asyncio.sleep(3)
    tried = [e for e in webhook_receiver.received() if e["path"] == path]
    await asyncio.sleep(3)
    assert tried and all(entry["status"] == 410 for entry in tried)
    assert [e for e in webhook_receiver.received() if e["path"] == path] == tried


async def test_a_refused_event_is_dead_lettered_listed_and_replayed(
    stack: RunningStack, webhook_receiver: WebhookReceiverProcess
) -> None:
    path = f"/cb/{secrets.token_hex(4)}"
    webhook_receiver.fault(status=400, path=path)
    record_id = await stack.send_sms(number(), callback_url=webhook_receiver.url(path))
    await stack.final("sms", record_id, {"delivered"})

    async def letters() -> dict[str, Any]:
        _, page = await stack.api("GET", "/api/events/dead-letters")
        mine = [item for item in page["items"] if item["subject"] == record_id]
        return {"mine": mine}

    found = await stack.eventually(letters, lambda body: bool(body["mine"]))
    (letter,) = found["mine"]
    assert letter["destination"] == "callback" and letter["reason"].startswith("refused")
    webhook_receiver.clear_faults()
    status, replayed = await stack.api(
        "POST", "/api/events/dead-letters/replay", json={"day": letter["day"], "key": letter["key"]}
    )
    assert (status, replayed["replayed"]) == (202, 1)

    (entry,) = await webhook_receiver.wait_for_async(1, WITHIN, about(record_id, path))
    assert entry["event"]["id"] == letter["event_id"]
    assert (await letters())["mine"] == []


async def test_a_callback_url_to_a_private_address_is_refused_naming_the_field(
    stack: RunningStack,
) -> None:
    status, answer = await stack.api(
        "POST", "/api/messages",
        json={"to": number(), "body": "hi", "callback_url": "https://10.0.0.7/hook"},
    )  # fmt: skip
    assert status == 400
    assert (answer["error"]["field"], answer["error"]["code"]) == (
        "callback_url",
        "callback_url_private_address",
    )
    assert json.dumps(answer)
