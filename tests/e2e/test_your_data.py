"""Your data, over HTTP against the whole stack: erasing a number erases it at Twilio too, and
a message Twilio cannot delete yet is deleted by the retention timer once it is final."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import MASTER_KEY, RunningStack

pytestmark = pytest.mark.e2e


def someone() -> str:
    return "+1555" + "".join(secrets.choice("0123456789") for _ in range(7))


async def at_twilio(stack: RunningStack, sid: str) -> dict[str, Any]:
    async with stack.http.get(f"{stack.sim_url}/_sim/messages/{sid}") as response:
        body: dict[str, Any] = await response.json()
        return body if response.status == 200 else {"gone": True}


async def erase(stack: RunningStack, number: str) -> tuple[int, Any]:
    return await stack.api("DELETE", f"/api/numbers/{quote(number, safe='')}")


async def test_erasing_a_number_deletes_its_messages_at_twilio_too(stack: RunningStack) -> None:
    number = someone()
    record_id = await stack.send_sms(number, "your code is 1234")
    sid = (await stack.final("sms", record_id, {"delivered"}))["twilio_sid"]

    status, body = await erase(stack, number)

    assert (status, body) == (200, {"erased": 1, "twilio": {"deleted": 1, "pending": 0}})
    assert await at_twilio(stack, sid) == {"gone": True}
    status, answer = await stack.api("GET", f"/api/messages/{record_id}")
    assert (status, answer["error"]["code"]) == (404, "erased")


async def test_a_message_not_final_at_twilio_is_deleted_by_the_timer_once_it_is(
    stack: RunningStack,
) -> None:
    await stack.sim("POST", "/_sim/behaviour", json={"callback_delay": 1.5})
    number = someone()
    record_id = await stack.send_sms(number, "on its way")
    sent = await stack.eventually(
        lambda: stack.record("sms", record_id), lambda body: bool(body.get("twilio_sid"))
    )
    sid = sent["twilio_sid"]

    _, body = await erase(stack, number)
    await stack.eventually(
        lambda: at_twilio(stack, sid), lambda seen: seen.get("status") == "delivered"
    )
    async with stack.http.post(
        f"{stack.base_url}/admin/functions/retention_purge",
        json={"input": ""},
        headers={"x-functions-key": MASTER_KEY},
    ) as started:
        assert started.status == 202

    assert body["twilio"] == {"deleted": 0, "pending": 1}
    await stack.eventually(lambda: at_twilio(stack, sid), lambda seen: seen.get("gone") is True)
