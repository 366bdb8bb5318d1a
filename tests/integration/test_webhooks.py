"""Twilio-facing functions against Azurite: signatures, callbacks, inbound sms and calls."""

from __future__ import annotations

import json
import logging
from xml.etree import ElementTree

import azure.functions as func
import pytest

from shared.delivery.services import reset_services
from shared.handlers.worker import max_dequeue_count
from shared.storage.sid_owners import SidOwners
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.app import user_function
from tests.support.fake_twilio import reply, twilio_error
from tests.support.requests import api_post, signed_form, trigger_message
from tests.support.spies import calls_to

pytestmark = pytest.mark.integration

CALLER = "+15557654321"
OUR_NUMBER = "+15005550006"


async def call(name: str, request: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = await user_function(name)(request)
    return response


def xml(response: func.HttpResponse) -> ElementTree.Element:
    assert response.mimetype == "text/xml"
    return ElementTree.fromstring(response.get_body())


SMS_SID = "SM" + "1" * 32
CALL_SID = "CA" + "2" * 32


async def sent_sms(gateway: Gateway) -> str:
    created = await call("send_message", api_post("messages", {"to": CALLER, "body": "hi"}))
    record_id: str = json.loads(created.get_body())["id"]
    (message,) = await gateway.queued_messages()
    gateway.twilio.script(reply(201, {"sid": SMS_SID, "status": "queued", "to": CALLER}))
    await user_function("outbound_worker")(message)
    return record_id


def status_callback(record_id: str, status: str, **extra: str) -> func.HttpRequest:
    params = {"MessageSid": SMS_SID, "MessageStatus": status, "To": CALLER, **extra}
    return signed_form(f"{PUBLIC_BASE_URL}/api/twilio/status?id={record_id}", params, AUTH_TOKEN)


async def test_status_callbacks_move_the_summary_forward(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)

    for status in ("sent", "delivered"):
        response = await call("twilio_status", status_callback(record_id, status))
        assert response.status_code == 200

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "delivered"
    history = [event.status for event in await gateway.services.log.history(record_id)]
    assert history == ["accepted", "sending", "queued", "sent", "delivered"]


async def test_late_callback_adds_history_but_never_regresses(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)

    await call("twilio_status", status_callback(record_id, "delivered"))
    await call("twilio_status", status_callback(record_id, "sent"))

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "delivered"
    history = [event.status for event in await gateway.services.log.history(record_id)]
    assert history[-2:] == ["delivered", "sent"]


async def given_up_sms(gateway: Gateway) -> str:
    """An SMS whose last attempt Twilio answered 500 after creating it: no SID recorded."""
    created = await call("send_message", api_post("messages", {"to": CALLER, "body": "hi"}))
    record_id: str = json.loads(created.get_body())["id"]
    (message,) = await gateway.queued_messages()
    gateway.twilio.script(twilio_error(500, 20500, "created, then failed"))
    last = trigger_message(record_id, message.get_body(), max_dequeue_count())
    await user_function("outbound_worker")(last)
    return record_id


async def test_callback_for_a_send_the_gateway_gave_up_on_shows_the_truth(
    gateway: Gateway,
) -> None:
    record_id = await given_up_sms(gateway)

    await call("twilio_status", status_callback(record_id, "delivered"))

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "delivered"
    assert record.error_message is None and record.twilio_sid == "SM" + "1" * 32


async def test_callback_for_another_sid_is_history_only(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)
    other = {"MessageSid": "SM" + "9" * 32}

    await call("twilio_status", status_callback(record_id, "undelivered", **other))

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "queued" and record.twilio_sid == SMS_SID
    history = await gateway.services.log.history(record_id)
    assert (history[-1].status, history[-1].twilio_sid) == ("undelivered", other["MessageSid"])


async def test_undelivered_callback_records_twilio_error(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)

    await call("twilio_status", status_callback(record_id, "undelivered", ErrorCode="30003"))

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "undelivered" and record.error_code == 30003


async def test_call_status_callbacks_use_call_ranks(gateway: Gateway) -> None:
    created = await call("place_call", api_post("calls", {"to": CALLER, "say": "hi"}))
    record_id = json.loads(created.get_body())["id"]
    (message,) = await gateway.queued_messages()
    gateway.twilio.script(reply(201, {"sid": CALL_SID, "status": "queued", "to": CALLER}))
    await user_function("outbound_worker")(message)
    url = f"{PUBLIC_BASE_URL}/api/twilio/status?id={record_id}"

    for status in ("ringing", "completed", "in-progress"):
        params = {"CallSid": CALL_SID, "CallStatus": status}
        await call("twilio_status", signed_form(url, params, AUTH_TOKEN))

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "completed"


async def test_forged_signature_is_refused_with_403(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)
    url = f"{PUBLIC_BASE_URL}/api/twilio/status?id={record_id}"
    forged = signed_form(url, {"MessageStatus": "delivered"}, "not-the-token")

    response = await call("twilio_status", forged)

    assert response.status_code == 403
    assert b"does not match" in response.get_body()
    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "queued"


async def test_missing_signature_is_refused_with_403(gateway: Gateway) -> None:
    request = func.HttpRequest(
        "POST",
        f"{PUBLIC_BASE_URL}/api/twilio/sms",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"From=%2B15557654321&Body=hi",
    )

    response = await call("twilio_sms", request)

    assert response.status_code == 403


async def test_webhooks_fail_closed_without_an_auth_token(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    await reset_services()
    params = {"From": CALLER, "To": OUR_NUMBER, "Body": "hi"}

    response = await call(
        "twilio_sms", signed_form(f"{PUBLIC_BASE_URL}/api/twilio/sms", params, AUTH_TOKEN)
    )

    assert response.status_code == 403


def inbound_sms(body: str, sid: str = "SM" + "3" * 32) -> func.HttpRequest:
    params = {"MessageSid": sid, "From": CALLER, "To": OUR_NUMBER, "Body": body}
    return signed_form(f"{PUBLIC_BASE_URL}/api/twilio/sms", params, AUTH_TOKEN)


async def test_incoming_sms_is_logged_and_answered_empty(gateway: Gateway) -> None:
    response = await call("twilio_sms", inbound_sms("hello there"))

    root = xml(response)
    assert root.tag == "Response" and list(root) == []
    record = await gateway.services.log.get("SM" + "3" * 32)
    assert record is not None and record.direction == "inbound" and record.body == "hello there"


async def test_incoming_sms_gets_the_configured_auto_reply(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMS_AUTO_REPLY", "Thanks, we got it.")
    await gateway.reload()

    response = await call("twilio_sms", inbound_sms("hello"))

    message = xml(response).find("Message")
    assert message is not None and message.text == "Thanks, we got it."


async def test_stop_opts_out_and_a_later_send_fails_with_21610(gateway: Gateway) -> None:
    await call("twilio_sms", inbound_sms(" stop "))

    record_id = await sent_sms(gateway)

    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "failed" and record.error_code == 21610
    assert gateway.twilio.requests == []


async def test_start_after_stop_opts_back_in(gateway: Gateway) -> None:
    await call("twilio_sms", inbound_sms("STOP", sid="SM" + "4" * 32))
    await call("twilio_sms", inbound_sms("START", sid="SM" + "5" * 32))

    assert not await gateway.services.opt_outs.is_opted_out(CALLER)


def inbound_call() -> func.HttpRequest:
    params = {"CallSid": "CA" + "6" * 32, "From": CALLER, "To": OUR_NUMBER, "CallStatus": "ringing"}
    return signed_form(f"{PUBLIC_BASE_URL}/api/twilio/voice", params, AUTH_TOKEN)


@pytest.mark.parametrize(
    ("settings", "verb"),
    [
        ({"VOICE_GREETING": "Hello"}, "Hangup"),
        ({"VOICE_FORWARD_TO": "+15550001111"}, "Dial"),
        ({"VOICE_MODE": "voicemail"}, "Record"),
        ({"VOICE_MENU": '{"1": {"say": "Open 9 to 5"}}'}, "Gather"),
        ({"VOICE_MODE": "reject"}, "Reject"),
    ],
)
async def test_incoming_call_is_answered_by_the_configured_mode(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, settings: dict[str, str], verb: str
) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    await gateway.reload()

    response = await call("twilio_voice", inbound_call())

    assert verb in [element.tag for element in xml(response)]
    record = await gateway.services.log.get("CA" + "6" * 32)
    assert record is not None and record.kind == "call" and record.direction == "inbound"


async def test_menu_choice_speaks_the_configured_text(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_MENU", '{"1": {"say": "Open 9 to 5"}}')
    await gateway.reload()
    params = {"CallSid": "CA" + "7" * 32, "Digits": "1"}

    response = await call(
        "twilio_voice_menu",
        signed_form(f"{PUBLIC_BASE_URL}/api/twilio/voice/menu", params, AUTH_TOKEN),
    )

    say = xml(response).find("Say")
    assert say is not None and say.text == "Open 9 to 5"


async def test_voicemail_recording_url_is_kept_on_the_call_with_a_history_entry(
    gateway: Gateway,
) -> None:
    await call("twilio_voice", inbound_call())
    params = {
        "CallSid": "CA" + "6" * 32,
        "RecordingUrl": "https://api.twilio.com/rec/RE1",
        "RecordingDuration": "7",
    }

    await call(
        "twilio_voicemail",
        signed_form(f"{PUBLIC_BASE_URL}/api/twilio/voice/recorded", params, AUTH_TOKEN),
    )

    record = await gateway.services.log.get("CA" + "6" * 32)
    assert record is not None and record.recording_url == params["RecordingUrl"]
    assert record.public_json()["recording_url"] == params["RecordingUrl"]
    history = await gateway.services.log.history("CA" + "6" * 32)
    assert (history[-1].status, history[-1].note) == ("voicemail", "7 s")


async def test_twiml_message_says_and_plays_like_the_twimlet(gateway: Gateway) -> None:
    url = (
        f"{PUBLIC_BASE_URL}/api/twiml/message?Message%5B0%5D=Hello"
        "&Message%5B1%5D=https%3A%2F%2Fexample.com%2Fa.mp3"
    )

    response = await call("twiml_message", signed_form(url, {"CallSid": "CA1"}, AUTH_TOKEN))

    assert [(el.tag, el.text) for el in xml(response)] == [
        ("Say", "Hello"),
        ("Play", "https://example.com/a.mp3"),
    ]


async def test_a_status_callback_is_one_write_and_no_read(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_id = await sent_sms(gateway)
    names = ("create_entity", "get_entity", "query_entities", "update_entity")
    calls = calls_to(gateway.services.log._table, names, monkeypatch)

    await call("twilio_status", status_callback(record_id, "delivered"))

    assert calls == ["create_entity"]


async def test_a_callback_makes_its_record_the_owner_of_a_sid_the_worker_never_recorded(
    gateway: Gateway,
) -> None:
    record_id = await given_up_sms(gateway)

    await call("twilio_status", status_callback(record_id, "sent"))

    another_instance = SidOwners(gateway.services.log._table)
    assert await another_instance.claim(SMS_SID, "someone-else") == record_id


SIGNED_ROUTES = {
    "twilio_status": "/api/twilio/status?id=abc",
    "twilio_sms": "/api/twilio/sms",
    "twilio_voice": "/api/twilio/voice",
    "twilio_voice_menu": "/api/twilio/voice/menu",
    "twilio_voicemail": "/api/twilio/voice/recorded",
    "twiml_message": "/api/twiml/message",
}


@pytest.fixture
async def behind_a_proxy(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    monkeypatch.delenv("PUBLIC_BASE_URL")
    monkeypatch.setenv("TRUST_FORWARDED_HEADERS", "true")
    await gateway.reload()
    return gateway


def forwarded(path: str, host: str, signed_for: str | None = None) -> func.HttpRequest:
    params = {"CallSid": CALL_SID, "From": CALLER, "To": OUR_NUMBER, "Digits": "1"}
    request = signed_form(f"{signed_for or 'https://' + host}{path}", params, AUTH_TOKEN)
    headers = {**request.headers, "X-Forwarded-Proto": "https", "X-Forwarded-Host": host}
    return func.HttpRequest(
        "POST", f"http://internal:7071{path}", headers=headers, params=request.params,
        body=request.get_body(),
    )  # fmt: skip


@pytest.mark.parametrize("host", ["x:abc", "x:99999", "["])
@pytest.mark.parametrize("name", list(SIGNED_ROUTES))
async def test_bad_forwarded_host_is_403_naming_it_on_every_signed_route(
    behind_a_proxy: Gateway, name: str, host: str
) -> None:
    response = await call(name, forwarded(SIGNED_ROUTES[name], host, "https://gw.example"))

    assert response.status_code == 403
    assert response.get_body().decode().startswith(("X-Forwarded-Host", "the host"))


async def test_forwarded_host_the_request_was_signed_for_is_trusted(
    behind_a_proxy: Gateway,
) -> None:
    response = await call("twilio_sms", forwarded("/api/twilio/sms", "gw.example:8443"))

    assert response.status_code == 200


async def test_an_identical_callback_again_is_logged_as_a_repeat_and_adds_no_row(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    record_id = await sent_sms(gateway)
    await call("twilio_status", status_callback(record_id, "delivered"))
    before = await gateway.services.log.history(record_id)
    caplog.set_level(logging.INFO, logger="gateway")

    response = await call("twilio_status", status_callback(record_id, "delivered"))

    assert response.status_code == 200
    assert await gateway.services.log.history(record_id) == before
    assert any("status_callback_repeated" in r.getMessage() for r in caplog.records)


async def test_a_callback_row_keeps_a_bounded_part_of_what_was_sent(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)

    await call(
        "twilio_status",
        status_callback(record_id, "undelivered", ErrorCode="30003", ErrorMessage="x" * 5000),
    )

    (event,) = [e for e in await gateway.services.log.history(record_id) if e.error_code]
    assert (event.error_code, len(event.error_message or "")) == (30003, 500)
