"""A bad setting refuses only the functions that need it, naming the setting; the rest work."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

import azure.functions as func
import pytest

from shared.delivery.services import reset_services
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.app import user_function
from tests.support.requests import api_get, api_post, signed_form

pytestmark = pytest.mark.integration

CALLER = "+15557654321"
CALL_SID = "CA" + "8" * 32


def signed(path: str, params: dict[str, str]) -> func.HttpRequest:
    return signed_form(f"{PUBLIC_BASE_URL}{path}", params, AUTH_TOKEN)


REQUESTS: dict[str, tuple[str, Callable[[], func.HttpRequest]]] = {
    "send_sms": ("send_message", lambda: api_post("messages", {"to": CALLER, "body": "hi"})),
    "place_call": ("place_call", lambda: api_post("calls", {"to": CALLER, "say": "hi"})),
    "read_status": ("get_message", lambda: api_get("messages/nope", {"id": "nope"})),
    "list_messages": ("list_messages", lambda: api_get("messages", {})),
    "incoming_sms": (
        "twilio_sms",
        lambda: signed("/api/twilio/sms", {"MessageSid": "SM" + "8" * 32, "From": CALLER}),
    ),
    "status_callback": (
        "twilio_status",
        lambda: signed("/api/twilio/status?id=nope", {"MessageStatus": "sent"}),
    ),
    "twiml_message": ("twiml_message", lambda: signed("/api/twiml/message?Message=Hi", {})),
    "incoming_call": ("twilio_voice", lambda: signed("/api/twilio/voice", {"CallSid": CALL_SID})),
    "menu_choice": (
        "twilio_voice_menu",
        lambda: signed("/api/twilio/voice/menu", {"CallSid": CALL_SID, "Digits": "1"}),
    ),
    "voicemail": (
        "twilio_voicemail",
        lambda: signed("/api/twilio/voice/recorded", {"CallSid": CALL_SID}),
    ),
}
VOICE = {"incoming_call", "menu_choice", "voicemail"}
WORKS = {"send_sms": 202, "place_call": 202, "read_status": 404, "list_messages": 200}


@dataclass(frozen=True)
class Scenario:
    env: dict[str, str]
    setting: str
    refused: set[str]


SCENARIOS = {
    "voice_mode_forward_without_a_number": Scenario(
        {"VOICE_MODE": "forward"}, "VOICE_FORWARD_TO", VOICE
    ),
    "voice_menu_with_an_unknown_action": Scenario(
        {"VOICE_MENU": '{"1": {"dance": "now"}}'}, "VOICE_MENU", VOICE
    ),
    "twilio_from_number_not_e164": Scenario(
        {"TWILIO_FROM_NUMBER": "555"},
        "TWILIO_FROM_NUMBER",
        set(REQUESTS) - {"read_status", "list_messages"},
    ),
    "event_webhook_without_its_secret": Scenario(
        {"EVENT_WEBHOOK_URL": "https://hooks.example.com/e"}, "EVENT_WEBHOOK_SECRET", set()
    ),
    "log_message_bodies_not_a_flag": Scenario(
        {"LOG_MESSAGE_BODIES": "maybe"}, "LOG_MESSAGE_BODIES", set(REQUESTS) - {"twiml_message"}
    ),
}


@pytest.mark.parametrize("request_name", list(REQUESTS))
@pytest.mark.parametrize("scenario_name", list(SCENARIOS))
async def test_a_bad_setting_refuses_only_what_needs_it(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, scenario_name: str, request_name: str
) -> None:
    scenario = SCENARIOS[scenario_name]
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    await reset_services()
    function, build = REQUESTS[request_name]

    response: func.HttpResponse = await user_function(function)(build())

    body = response.get_body().decode()
    if request_name not in scenario.refused:
        assert response.status_code == WORKS.get(request_name, 200), body
        assert scenario.setting not in body
    elif request_name in VOICE:
        assert (response.status_code, response.mimetype) == (500, "text/xml")
        say = ElementTree.fromstring(body).find("Say")
        assert say is not None and say.text is not None and scenario.setting in say.text
    else:
        assert response.status_code == 500
        error = json.loads(body)["error"]
        assert error["code"] == "gateway_misconfigured" and scenario.setting in error["message"]


async def test_a_bad_voice_setting_is_not_revealed_to_unsigned_callers(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_MODE", "forward")
    await reset_services()
    request = signed_form(
        f"{PUBLIC_BASE_URL}/api/twilio/voice", {"CallSid": CALL_SID}, AUTH_TOKEN, signature="x"
    )

    response = await user_function("twilio_voice")(request)

    assert response.status_code == 403 and b"VOICE" not in response.get_body()


async def test_a_bad_events_setting_stops_events_out_only_naming_it(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.platform.errors import MisconfiguredError
    from tests.support.requests import trigger_message

    monkeypatch.setenv("EVENT_WEBHOOK_URL", "https://hooks.example.com/e")
    await reset_services()

    listed = await user_function("list_dead_letters")(api_get("events/dead-letters", {}))
    assert listed.status_code == 500 and b"EVENT_WEBHOOK_SECRET" in listed.get_body()
    with pytest.raises(MisconfiguredError, match="EVENT_WEBHOOK_SECRET"):
        await user_function("events_publisher")(trigger_message("m1", b'{"kind": "x"}'))
