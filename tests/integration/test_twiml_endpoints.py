"""Your own TwiML endpoint (reminder_twiml.py) and TwiML previews, through the functions."""

from __future__ import annotations

from urllib.parse import urlencode
from xml.etree import ElementTree

import azure.functions as func
import pytest

from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.app import user_function
from tests.support.requests import signed_form

pytestmark = pytest.mark.integration

CALL = {"CallSid": "CA" + "8" * 32, "From": "+15005550006", "To": "+15557654321"}


async def call(name: str, request: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = await user_function(name)(request)
    return response


def verbs(response: func.HttpResponse) -> list[tuple[str, str | None]]:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    return [(el.tag, el.text) for el in ElementTree.fromstring(response.get_body())]


def get(route: str, query: dict[str, str]) -> func.HttpRequest:
    url = f"{PUBLIC_BASE_URL}/api/{route}?{urlencode(query)}"
    return func.HttpRequest("GET", url, params=query, body=b"")


async def test_reminder_speaks_pauses_and_gathers_for_a_signed_request(gateway: Gateway) -> None:
    url = f"{PUBLIC_BASE_URL}/api/twiml/reminder?When=on%20Monday%20at%2010"

    answer = verbs(await call("reminder_twiml", signed_form(url, CALL, AUTH_TOKEN)))

    assert [tag for tag, _ in answer] == ["Say", "Pause", "Gather", "Say", "Hangup"]
    assert answer[0][1] == "Hello. This is a reminder of your appointment on Monday at 10."


async def test_reminder_choice_keeps_the_appointment_when_asking_again(gateway: Gateway) -> None:
    signed = signed_form(f"{PUBLIC_BASE_URL}/api/twiml/reminder?When=today", CALL, AUTH_TOKEN)
    gather = ElementTree.fromstring((await call("reminder_twiml", signed)).get_body())[2]
    choice_url = f"{PUBLIC_BASE_URL}{gather.get('action')}"

    answer = verbs(
        await call(
            "reminder_choice_twiml", signed_form(choice_url, {**CALL, "Digits": "7"}, AUTH_TOKEN)
        )
    )

    assert answer == [
        ("Say", "Sorry, that is not an option."),
        ("Redirect", "/api/twiml/reminder?When=today"),
    ]


async def test_reminder_choice_one_confirms(gateway: Gateway) -> None:
    url = f"{PUBLIC_BASE_URL}/api/twiml/reminder/choice"

    answer = verbs(
        await call("reminder_choice_twiml", signed_form(url, {**CALL, "Digits": "1"}, AUTH_TOKEN))
    )

    assert answer[0] == ("Say", "Thank you, your appointment is confirmed. Goodbye.")


async def test_reminder_choice_two_plays_and_dials_the_forward_number(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICE_FORWARD_TO", "+15550001111")
    await gateway.reload()
    url = f"{PUBLIC_BASE_URL}/api/twiml/reminder/choice"

    answer = verbs(
        await call("reminder_choice_twiml", signed_form(url, {**CALL, "Digits": "2"}, AUTH_TOKEN))
    )

    assert [tag for tag, _ in answer] == ["Say", "Play", "Dial"]
    assert answer[2][1] == "+15550001111"


async def test_unsigned_twiml_request_gets_403_saying_why(gateway: Gateway) -> None:
    response = await call("reminder_twiml", get("twiml/reminder", {"When": "today"}))

    assert response.status_code == 403
    assert b"X-Twilio-Signature header is missing" in response.get_body()


async def test_preview_shows_the_twiml_twilio_would_get_without_a_signature(
    gateway: Gateway,
) -> None:
    query = {"Message[0]": "Hello", "Message[1]": "https://example.com/a.mp3", "code": "k"}

    answer = verbs(await call("twiml_message_preview", get("preview/twiml/message", query)))

    assert answer == [("Say", "Hello"), ("Play", "https://example.com/a.mp3")]


async def test_reminder_preview_equals_the_signed_answer(gateway: Gateway) -> None:
    query = {"When": "today"}
    signed_url = f"{PUBLIC_BASE_URL}/api/twiml/reminder?When=today"

    preview = await call("reminder_twiml_preview", get("preview/twiml/reminder", query))
    signed = await call("reminder_twiml", signed_form(signed_url, CALL, AUTH_TOKEN))

    assert preview.get_body() == signed.get_body()
