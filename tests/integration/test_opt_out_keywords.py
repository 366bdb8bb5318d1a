"""Twilio's default opt-out keywords, texted to the gateway, stop later sends before Twilio."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.app import user_function
from tests.support.requests import api_post, signed_form

pytestmark = pytest.mark.integration

CALLER = "+15557654322"


@pytest.mark.parametrize("keyword", ["STOP", "revoke", "OptOut", " quit "])
async def test_opt_out_keyword_refuses_later_sends_with_21610(
    gateway: Gateway, keyword: str
) -> None:
    params = {"MessageSid": "SM" + "9" * 32, "From": CALLER, "To": "+15005550006", "Body": keyword}
    await user_function("twilio_sms")(
        signed_form(f"{PUBLIC_BASE_URL}/api/twilio/sms", params, AUTH_TOKEN)
    )
    accepted = await user_function("send_message")(
        api_post("messages", {"to": CALLER, "body": "hi"})
    )
    (message,) = await gateway.queued_messages()

    await user_function("outbound_worker")(message)

    record = await gateway.services.log.get(json.loads(accepted.get_body())["id"])
    assert record is not None and (record.status, record.error_code) == ("failed", 21610)
    assert gateway.twilio.requests == []
