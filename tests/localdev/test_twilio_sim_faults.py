"""Fault injection on create requests, as the official client experiences it."""

from __future__ import annotations

import random
import time
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from localdev.twilio_sim import SimConfig, SimulatorServer
from localdev.twilio_sim.faults import FaultInjector, FaultRule

SENDER = "+15005550006"
RECIPIENT = "+15558675310"
SLOW_SECONDS = 0.3


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.01, slow_seconds=SLOW_SECONDS, seed=3)


async def set_rules(control: aiohttp.ClientSession, *rules: dict[str, Any]) -> dict[str, Any]:
    async with control.post("/_sim/faults", json={"rules": list(rules)}) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def send(twilio: Client, to: str = RECIPIENT) -> str:
    message = await twilio.messages.create_async(to=to, from_=SENDER, body="hi")
    sid: str = message.sid
    return sid


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("429", 429, 20429), ("500", 500, 20500), ("503", 503, 20503)],
)
async def test_error_fault_raises_twilio_rest_exception_with_its_code(
    sim: SimulatorServer,
    twilio: Client,
    control: aiohttp.ClientSession,
    kind: str,
    status: int,
    code: int,
) -> None:
    await set_rules(control, {"kind": kind})

    with pytest.raises(TwilioRestException) as raised:
        await send(twilio)

    assert (raised.value.status, raised.value.code) == (status, code)
    assert sim.state.store.messages == {}


async def test_429_fault_says_too_many_requests(
    twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "429"})

    with pytest.raises(TwilioRestException) as raised:
        await send(twilio)

    assert "Too Many Requests" in raised.value.msg


async def test_created_then_500_creates_the_message_yet_answers_500(
    sim: SimulatorServer, twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "created_then_500"})

    with pytest.raises(TwilioRestException) as raised:
        await send(twilio)
    assert await sim.state.tasks.wait_idle(5)

    [message] = sim.state.store.messages.values()
    assert (raised.value.status, raised.value.code) == (500, 20500)
    assert message.status == "delivered"


async def test_created_then_500_applies_to_calls_too(
    sim: SimulatorServer, twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "created_then_500", "resource": "calls"})

    with pytest.raises(TwilioRestException):
        await twilio.calls.create_async(to=RECIPIENT, from_=SENDER, twiml="<Response/>")

    assert len(sim.state.store.calls) == 1


async def test_resource_scoped_fault_spares_the_other_resource(
    sim: SimulatorServer, twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "500", "resource": "calls"})

    sid = await send(twilio)

    assert sid in sim.state.store.messages


async def test_fault_count_limits_how_often_it_fires(
    twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "503", "count": 2})

    for _ in range(2):
        with pytest.raises(TwilioRestException):
            await send(twilio)
    sid = await send(twilio)

    assert sid.startswith("SM")


async def test_fault_scoped_to_a_number_spares_other_numbers(
    twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "500", "to": "+15558675399"})

    spared = await send(twilio, to=RECIPIENT)
    with pytest.raises(TwilioRestException) as raised:
        await send(twilio, to="+15558675399")

    assert spared.startswith("SM")
    assert raised.value.status == 500


async def test_timeout_fault_answers_normally_after_the_slow_delay(
    twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "timeout", "count": 1})

    started = time.monotonic()
    sid = await send(twilio)
    elapsed = time.monotonic() - started

    assert sid.startswith("SM")
    assert elapsed >= SLOW_SECONDS


def test_fault_rate_is_a_probability() -> None:
    injector = FaultInjector([FaultRule(kind="500", rate=0.5)], random.Random(11))

    fired = sum(injector.pick("messages", RECIPIENT) is not None for _ in range(400))

    assert 150 < fired < 250


async def test_faults_endpoint_lists_rules_with_remaining_count(
    twilio: Client, control: aiohttp.ClientSession
) -> None:
    await set_rules(control, {"kind": "429", "count": 3, "to": RECIPIENT})
    with pytest.raises(TwilioRestException):
        await send(twilio)

    async with control.get("/_sim/faults") as response:
        [rule] = (await response.json())["rules"]

    assert rule["kind"] == "429"
    assert (rule["fired"], rule["remaining"], rule["to"]) == (1, 2, RECIPIENT)


async def test_deleting_faults_clears_them(twilio: Client, control: aiohttp.ClientSession) -> None:
    await set_rules(control, {"kind": "500"})

    async with control.delete("/_sim/faults") as response:
        body = await response.json()
    sid = await send(twilio)

    assert body == {"rules": []}
    assert sid.startswith("SM")


@pytest.mark.parametrize(
    "rule",
    [{"kind": "418"}, {"kind": "500", "rate": 2}, {"kind": "500", "count": -1}, {"kid": "500"}],
    ids=["unknown-kind", "rate-above-one", "negative-count", "unknown-field"],
)
async def test_invalid_fault_rule_is_refused(
    control: aiohttp.ClientSession, rule: dict[str, Any]
) -> None:
    async with control.post("/_sim/faults", json={"rules": [rule]}) as response:
        body = await response.json()

    assert response.status == 400
    assert body["error"]


async def test_env_fault_rates_build_the_initial_rules() -> None:
    config = SimConfig(fault_429_rate=1.0, fault_timeout_rate=0.25)
    async with SimulatorServer(config) as server:
        rules = server.state.faults.to_json()["rules"]

    assert [(rule["kind"], rule["rate"]) for rule in rules] == [("429", 1.0), ("timeout", 0.25)]
