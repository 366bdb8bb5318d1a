"""Twilio-facing endpoints over HTTP, every request signed by the simulator: shared-key
signatures (form and JSON, either key of a rotation), refusals that name the key or the
algorithm, replays that add nothing, repeated inbound webhooks listed once, ``read`` after
``delivered``."""

from __future__ import annotations

import base64
import hmac
import secrets
from typing import Any

import pytest

from tests.e2e.conftest import FROM_NUMBER, NEW_KEY, OLD_KEY, RunningStack

pytestmark = pytest.mark.e2e


def number() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


def signing(key: tuple[str, str], algorithm: str = "HMAC_SHA256") -> dict[str, str]:
    return {"key_id": key[0], "secret": key[1], "algorithm": algorithm}


async def webhook(stack: RunningStack, path: str, **spec: Any) -> dict[str, Any]:
    """What the gateway answered a request the simulator signed and sent."""
    answer: dict[str, Any] = await stack.sim(
        "POST", "/_sim/webhook", json={"url": f"{stack.base_url}{path}", **spec}
    )
    return answer


async def delivered_sms(stack: RunningStack) -> tuple[str, dict[str, Any]]:
    """A record delivered through the simulator's own callbacks (signed with the auth
    token: no settings header), and the simulator's view of the message."""
    record_id = await stack.send_sms(number())
    record = await stack.final("sms", record_id, {"delivered"})
    message: dict[str, Any] = await stack.sim("GET", f"/_sim/messages/{record['twilio_sid']}")
    return record_id, message


@pytest.mark.parametrize("key", [OLD_KEY, NEW_KEY], ids=["old_key", "new_key"])
async def test_callback_signed_with_either_shared_key_moves_the_record(
    stack: RunningStack, key: tuple[str, str]
) -> None:
    record_id, message = await delivered_sms(stack)
    params = {"MessageSid": message["sid"], "MessageStatus": "read", "To": message["to"]}

    answer = await webhook(
        stack, f"/api/twilio/status?id={record_id}", params=params, signing=signing(key)
    )

    assert answer["status"] == 200, answer["body"]
    record = await stack.record("sms", record_id)
    assert record["status"] == "read"
    assert [event["status"] for event in record["history"]][-2:] == ["delivered", "read"]


async def test_json_body_signed_with_a_shared_key_is_taken(stack: RunningStack) -> None:
    document = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}

    answer = await webhook(
        stack, "/api/twilio/status?id=json-body", json=document, signing=signing(NEW_KEY)
    )

    assert answer["status"] == 200, answer["body"]
    assert "bodySHA256=" in answer["url"]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            {"signing": signing(("webhooks_sharedkey_retired", "old"))},
            "names the key 'webhooks_sharedkey_retired', which is not one of this gateway's",
        ),
        (
            {"signing": signing(("webhooks_sharedkey_e2e_new", "wrong-secret"))},
            "does not match this URL",
        ),
    ],
    ids=["unknown_key", "wrong_secret"],
)
async def test_shared_key_refusal_is_403_with_its_reason(
    stack: RunningStack, spec: dict[str, Any], reason: str
) -> None:
    params = {"MessageSid": "SM" + "1" * 32, "From": number(), "To": FROM_NUMBER, "Body": "hi"}

    answer = await webhook(stack, "/api/twilio/sms", params=params, **spec)

    assert answer["status"] == 403
    assert reason in answer["body"]


async def test_algorithm_the_gateway_does_not_check_is_403_naming_it(
    stack: RunningStack,
) -> None:
    """Signed here with hmac: the simulator, like Twilio today, has no HMAC-SHA512."""
    url = f"{stack.base_url}/api/twilio/sms"
    params = {"From": number(), "To": FROM_NUMBER, "Body": "hi"}
    text = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(NEW_KEY[1].encode(), text.encode(), "sha512").digest()
    headers = {
        "X-Twilio-Signature": base64.b64encode(digest).decode(),
        "X-Twilio-Webhooks-Signature-Settings": f"key={NEW_KEY[0]},algorithm=HMAC_SHA512",
    }

    async with stack.http.post(url, data=params, headers=headers) as response:
        assert response.status == 403
        assert "names the algorithm 'HMAC_SHA512'" in await response.text()


async def test_replayed_status_callback_adds_nothing(stack: RunningStack) -> None:
    record_id, message = await delivered_sms(stack)
    before = await stack.record("sms", record_id)
    last = message["callbacks"][-1]

    answers = [
        await webhook(stack, last["url"].removeprefix(stack.base_url), params=last["params"])
        for _ in range(5)
    ]

    assert [answer["status"] for answer in answers] == [200] * 5
    after = await stack.record("sms", record_id)
    assert after["history"] == before["history"]
    assert after["status"] == "delivered"


async def test_repeated_inbound_sms_is_listed_once(stack: RunningStack) -> None:
    sender = number()
    first = await stack.sim(
        "POST",
        "/_sim/inbound/sms",
        json={
            "url": f"{stack.base_url}/api/twilio/sms",
            "from": sender,
            "to": FROM_NUMBER,
            "body": "hi",
        },
    )
    for _ in range(2):  # Twilio's retries of the same webhook
        again = await webhook(stack, "/api/twilio/sms", params=first["params"])
        assert again["status"] == 200

    status, page = await stack.api(
        "GET", "/api/messages", params={"direction": "inbound", "number": sender}
    )

    assert status == 200
    assert [item["id"] for item in page["items"]] == [first["sid"]]


async def test_call_posted_again_by_the_menu_is_listed_once(stack: RunningStack) -> None:
    caller = number()
    call = await stack.sim(
        "POST",
        "/_sim/inbound/call",
        json={"url": f"{stack.base_url}/api/twilio/voice", "from": caller, "to": FROM_NUMBER},
    )
    # An invalid key: the menu redirects to /api/twilio/voice, which Twilio posts again.
    again = await webhook(stack, "/api/twilio/voice", params=call["params"])
    assert again["status"] == 200

    status, page = await stack.api(
        "GET", "/api/calls", params={"direction": "inbound", "number": caller}
    )

    assert status == 200
    assert [item["id"] for item in page["items"]] == [call["sid"]]
