"""Playing the phone on the other side: signed inbound webhooks and what the app answered."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from twilio.rest import Client

from localdev.twilio_sim import SimConfig, SimulatorServer
from localdev.twilio_sim.testing import WebhookReceiver, official_client

CALLER = "+15558675310"
OUR_NUMBER = "+15005550006"
REPLY = "<Response><Message>thanks</Message></Response>"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.01, seed=4)


async def post(
    control: aiohttp.ClientSession, path: str, payload: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with control.post(path, json=payload) as response:
        return response.status, await response.json()


async def text_in(
    control: aiohttp.ClientSession, app: WebhookReceiver, **extra: Any
) -> dict[str, Any]:
    payload = {"url": app.url("/sms"), "from": CALLER, "to": OUR_NUMBER, "body": "hello"}
    status, body = await post(control, "/_sim/inbound/sms", payload | extra)
    assert status == 200
    return body


async def test_inbound_sms_posts_a_signed_twilio_webhook(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    answer = await text_in(control, app)

    [request] = app.received("/sms")

    assert request.signature_valid
    assert request.params["MessageSid"] == answer["sid"]
    assert (request.params["From"], request.params["To"]) == (CALLER, OUR_NUMBER)
    assert request.params["Body"] == "hello"
    assert request.params["SmsStatus"] == "received"
    assert (request.params["NumMedia"], request.params["NumSegments"]) == ("0", "1")
    assert request.params["ApiVersion"] == "2010-04-01"


async def test_inbound_sms_returns_the_apps_answer(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/sms", REPLY)

    answer = await text_in(control, app)

    assert answer["status"] == 200
    assert answer["content_type"].startswith("text/xml")
    assert answer["body"] == REPLY
    assert answer["signature"] == app.received("/sms")[0].signature


async def test_inbound_sms_with_media_lists_each_media_url(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    await text_in(control, app, media_urls=["https://e.test/cat.png"])

    [request] = app.received("/sms")

    assert request.params["NumMedia"] == "1"
    assert request.params["MediaUrl0"] == "https://e.test/cat.png"
    assert request.params["MediaContentType0"] == "image/png"
    assert request.params["MessageSid"].startswith("MM")


async def test_inbound_sms_is_listed_as_an_inbound_message(
    sim: SimulatorServer, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    answer = await text_in(control, app)
    config = sim.state.config

    async with official_client(sim.base_url, config.account_sid, config.auth_token) as twilio:
        fetched = await twilio.messages(answer["sid"]).fetch_async()

    assert (fetched.direction, fetched.status) == ("inbound", "received")


async def test_inbound_call_posts_a_signed_ringing_webhook(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    payload = {"url": app.url("/voice"), "from": CALLER, "to": OUR_NUMBER}
    status, answer = await post(control, "/_sim/inbound/call", payload)

    [request] = app.received("/voice")

    assert status == 200
    assert request.signature_valid
    assert request.params["CallSid"] == answer["sid"]
    assert (request.params["CallStatus"], request.params["Direction"]) == ("ringing", "inbound")
    assert (request.params["Caller"], request.params["Called"]) == (CALLER, OUR_NUMBER)
    assert "<Say>Hello</Say>" in answer["body"]


GATHER = "<Response><Gather action='/menu'><Say>Press 1</Say></Gather></Response>"


async def test_inbound_call_answered_with_a_gather_stays_in_progress(
    sim: SimulatorServer, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/voice", GATHER)
    payload = {"url": app.url("/voice"), "from": CALLER, "to": OUR_NUMBER}
    _, answer = await post(control, "/_sim/inbound/call", payload)

    call = sim.state.store.calls[answer["sid"]]

    assert (call.direction, call.status) == ("inbound", "in-progress")


def with_status(app: WebhookReceiver) -> dict[str, str]:
    return {
        "url": app.url("/voice"),
        "from": CALLER,
        "to": OUR_NUMBER,
        "status_callback": app.url("/call-status"),
    }


async def test_inbound_call_whose_twiml_runs_out_completes_and_reports_it_signed(
    sim: SimulatorServer, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    _, answer = await post(control, "/_sim/inbound/call", with_status(app))

    [callback] = app.received("/call-status")

    assert sim.state.store.calls[answer["sid"]].status == "completed"
    assert callback.signature_valid
    assert (callback.params["CallSid"], callback.params["CallStatus"]) == (
        answer["sid"],
        "completed",
    )
    assert callback.params["Direction"] == "inbound"


async def test_rejected_inbound_call_reports_busy(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/voice", "<Response><Reject reason='busy'/></Response>")
    await post(control, "/_sim/inbound/call", with_status(app))

    [callback] = app.received("/call-status")

    assert callback.params["CallStatus"] == "busy"


async def test_menu_choice_that_hangs_up_completes_the_call(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/voice", GATHER)
    app.reply("/menu", "<Response><Say>Bye</Say><Hangup/></Response>")
    _, call = await post(control, "/_sim/inbound/call", with_status(app))
    assert app.received("/call-status") == []

    payload = {"url": app.url("/menu"), "call_sid": call["sid"], "digits": "1"}
    await post(control, "/_sim/inbound/digits", payload)

    assert [r.params["CallStatus"] for r in app.received("/call-status")] == ["completed"]


async def test_hangup_ends_a_waiting_call_once(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/voice", GATHER)
    _, call = await post(control, "/_sim/inbound/call", with_status(app))

    status, answer = await post(control, "/_sim/inbound/hangup", {"call_sid": call["sid"]})
    await post(control, "/_sim/inbound/hangup", {"call_sid": call["sid"]})

    assert status == 200 and answer["params"]["CallStatus"] == "completed"
    assert len(app.received("/call-status")) == 1


async def test_inbound_call_failing_its_twiml_reports_the_error_code(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/voice", "nope", status=403, content_type="text/plain")
    await post(control, "/_sim/inbound/call", with_status(app))

    [callback] = app.received("/call-status")

    assert (callback.params["CallStatus"], callback.params["ErrorCode"]) == ("failed", "11200")


async def test_inbound_call_answered_with_non_twiml_fails(
    sim: SimulatorServer, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    app.reply("/voice", "{}", content_type="application/json")
    payload = {"url": app.url("/voice"), "from": CALLER, "to": OUR_NUMBER}
    _, answer = await post(control, "/_sim/inbound/call", payload)

    call = sim.state.store.calls[answer["sid"]]

    assert call.status == "failed"
    assert call.twiml_record is not None
    assert call.twiml_record.error_code == 12100


async def test_inbound_digits_follow_up_carries_the_calls_params(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    call_payload = {"url": app.url("/voice"), "from": CALLER, "to": OUR_NUMBER}
    _, call = await post(control, "/_sim/inbound/call", call_payload)

    digits_payload = {"url": app.url("/gather"), "call_sid": call["sid"], "digits": "42#"}
    status, _ = await post(control, "/_sim/inbound/digits", digits_payload)
    [request] = app.received("/gather")

    assert status == 200
    assert request.signature_valid
    assert (request.params["CallSid"], request.params["Digits"]) == (call["sid"], "42#")
    assert request.params["From"] == CALLER


async def test_digits_for_an_unknown_call_are_404(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    payload = {"url": app.url("/gather"), "call_sid": "CA" + "0" * 32, "digits": "1"}
    status, _ = await post(control, "/_sim/inbound/digits", payload)

    assert status == 404
    assert app.requests == []


async def test_generic_webhook_posts_any_signed_form(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    params = {"CallSid": "CA" + "1" * 32, "SpeechResult": "yes please"}
    status, answer = await post(
        control, "/_sim/webhook", {"url": app.url("/anything?x=1"), "params": params}
    )

    [request] = app.received("/anything")

    assert status == 200
    assert request.signature_valid
    assert request.params == params
    assert answer["sid"] == params["CallSid"]


async def test_unreachable_inbound_url_answers_502_with_the_error(
    control: aiohttp.ClientSession,
) -> None:
    payload = {"url": "http://127.0.0.1:9/sms", "from": CALLER, "to": OUR_NUMBER, "body": "x"}
    status, answer = await post(control, "/_sim/inbound/sms", payload)

    assert status == 502
    assert answer["status"] is None
    assert answer["error"]


async def test_inbound_request_without_url_is_400(control: aiohttp.ClientSession) -> None:
    status, answer = await post(control, "/_sim/inbound/sms", {"from": CALLER, "to": OUR_NUMBER})

    assert status == 400
    assert "url" in answer["error"]


async def test_inbound_log_records_each_webhook(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    await text_in(control, app)
    await post(
        control, "/_sim/inbound/call", {"url": app.url("/voice"), "from": CALLER, "to": OUR_NUMBER}
    )

    async with control.get("/_sim/inbound") as response:
        log = (await response.json())["inbound"]

    assert [entry["kind"] for entry in log] == ["sms", "call"]
    assert [entry["status"] for entry in log] == [200, 200]
    assert all(entry["signature"] for entry in log)


async def test_twilio_client_can_list_inbound_and_outbound_together(
    sim: SimulatorServer, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    await text_in(control, app)
    config = sim.state.config
    async with official_client(sim.base_url, config.account_sid, config.auth_token) as twilio:
        client: Client = twilio
        await client.messages.create_async(to=CALLER, from_=OUR_NUMBER, body="reply")
        listed = await client.messages.list_async()

    assert [message.direction for message in listed] == ["outbound-api", "inbound"]
