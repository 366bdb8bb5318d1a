"""DELETE on the simulator's Messages, Calls and Recordings, as Twilio answers it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from localdev.twilio_sim import SimConfig, SimulatorServer

SENDER = "+15005550006"
RECIPIENT = "+15558675310"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.2, seed=3)


@pytest.fixture
async def control(sim: SimulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=sim.base_url) as session:
        yield session


async def test_a_final_message_is_deleted_with_204_and_is_gone(
    sim: SimulatorServer, twilio: Client
) -> None:
    message = await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="hi")
    assert await sim.state.tasks.wait_idle(5)

    deleted = await twilio.messages(message.sid).delete_async()

    assert deleted and message.sid not in sim.state.store.messages
    with pytest.raises(TwilioRestException) as gone:
        await twilio.messages(message.sid).fetch_async()
    assert gone.value.status == 404


async def test_a_message_not_final_yet_is_refused_with_20009_then_deleted_once_final(
    sim: SimulatorServer, twilio: Client
) -> None:
    message = await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="hi")

    with pytest.raises(TwilioRestException) as refused:
        await twilio.messages(message.sid).delete_async()
    assert await sim.state.tasks.wait_idle(5)

    assert refused.value.code == 20009
    assert await twilio.messages(message.sid).delete_async()


async def test_deleting_an_unknown_message_is_404_with_20404(twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as unknown:
        await twilio.messages("SM" + "0" * 32).delete_async()

    assert (unknown.value.status, unknown.value.code) == (404, 20404)


async def test_a_call_in_progress_is_refused_and_a_completed_one_deleted(
    sim: SimulatorServer, twilio: Client
) -> None:
    call = await twilio.calls.create_async(to=RECIPIENT, from_=SENDER, twiml="<Response/>")

    with pytest.raises(TwilioRestException) as refused:
        await twilio.calls(call.sid).delete_async()
    assert await sim.state.tasks.wait_idle(5)

    assert refused.value.code == 20009
    assert await twilio.calls(call.sid).delete_async()
    assert call.sid not in sim.state.store.calls


async def test_a_recording_outlives_its_call_until_deleted(
    sim: SimulatorServer, twilio: Client, control: aiohttp.ClientSession
) -> None:
    call = await twilio.calls.create_async(to=RECIPIENT, from_=SENDER, twiml="<Response/>")
    assert await sim.state.tasks.wait_idle(5)
    async with control.post("/_sim/recordings", json={"call_sid": call.sid}) as response:
        recording = await response.json()
    await twilio.calls(call.sid).delete_async()

    kept = await twilio.recordings(recording["sid"]).fetch_async()
    deleted = await twilio.recordings(recording["sid"]).delete_async()

    assert kept.call_sid == call.sid and deleted
    assert sim.state.store.recordings == {}
