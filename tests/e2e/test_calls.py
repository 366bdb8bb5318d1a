"""Calls through the whole local stack, and inbound calls from the simulator."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import pytest
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import AUTH_TOKEN, RunningStack

pytestmark = pytest.mark.e2e


def number() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


async def place(stack: RunningStack, **content: str) -> str:
    status, answer = await stack.api("POST", "/api/calls", json={"to": number(), **content})
    assert status == 202, answer
    return str(answer["id"])


async def sim_call(stack: RunningStack, sid: str) -> dict[str, Any]:
    call: dict[str, Any] = await stack.sim("GET", f"/_sim/calls/{sid}")
    return call


async def test_call_with_say_completes_with_inline_twiml(stack: RunningStack) -> None:
    record_id = await place(stack, say="Your table is ready.")

    record = await stack.final("call", record_id, {"completed"})

    call = await sim_call(stack, record["twilio_sid"])
    assert "<Say>Your table is ready.</Say>" in call["twiml"]["twiml"]
    assert [e["status"] for e in record["history"]][-1] == "completed"


async def test_call_with_url_fetches_signed_twiml_from_the_gateway(stack: RunningStack) -> None:
    url = f"{stack.base_url}/api/twiml/message?Message={quote('Hello there')}"
    record_id = await place(stack, url=url)

    record = await stack.final("call", record_id, {"completed"})

    fetched = (await sim_call(stack, record["twilio_sid"]))["twiml"]
    assert fetched["http_status"] == 200
    assert "<Say>Hello there</Say>" in fetched["twiml"]
    validator = RequestValidator(AUTH_TOKEN)
    assert validator.validate(fetched["url"], fetched["params"], fetched["signature"])


async def test_inbound_call_gets_the_configured_greeting(stack: RunningStack) -> None:
    answer = await stack.sim(
        "POST",
        "/_sim/inbound/call",
        json={"url": f"{stack.base_url}/api/twilio/voice", "from": number(), "to": "+15005550006"},
    )

    assert answer["status"] == 200
    assert "<Say>Hello from the gateway.</Say>" in answer["body"]


async def test_call_whose_twiml_fetch_is_refused_records_twilios_error(
    stack: RunningStack,
) -> None:
    """The classic slip: Twilio calls localhost, the gateway checks 127.0.0.1 (PUBLIC_BASE_URL)."""
    url = stack.base_url.replace("127.0.0.1", "localhost") + "/api/twiml/message?Message=Hi"
    record_id = await place(stack, url=url)

    record = await stack.final("call", record_id, {"failed"})

    assert record["error_code"] == 11200
    assert "403" in record["error_message"]


async def test_inbound_call_is_listed_and_reaches_completed(stack: RunningStack) -> None:
    caller = number()
    answer = await stack.sim(
        "POST",
        "/_sim/inbound/call",
        json={
            "url": f"{stack.base_url}/api/twilio/voice",
            "from": caller,
            "to": "+15005550006",
            "status_callback": f"{stack.base_url}/api/twilio/status",
        },
    )
    await stack.sim(
        "POST",
        "/_sim/inbound/digits",
        json={"url": f"{stack.base_url}/api/twilio/voice/menu", "call_sid": answer["sid"],
              "digits": "1"},
    )  # fmt: skip

    status, page = await stack.api("GET", f"/api/calls?number={quote(caller)}&direction=inbound")

    assert status == 200
    assert [(i["id"], i["status"]) for i in page["items"]] == [(answer["sid"], "completed")]


async def test_inbound_call_without_status_callback_still_ends_through_a_status_check(
    stack: RunningStack,
) -> None:
    answer = await stack.sim(
        "POST",
        "/_sim/inbound/call",
        json={"url": f"{stack.base_url}/api/twilio/voice", "from": number(), "to": "+15005550006"},
    )
    await stack.sim("POST", "/_sim/inbound/hangup", json={"call_sid": answer["sid"]})

    record = await stack.final("call", answer["sid"], {"completed"})

    assert "status check" in record["history"][-1].get("note", "")
