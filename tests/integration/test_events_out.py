"""Events out through the real functions against Azurite, the destinations faked: what is
signalled, published, retried, switched off and dead-lettered."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest

from localdev.azurite import Azurite
from localdev.fault_proxy import FaultProxy, ProxyConfig
from localdev.storage_requests import classify_queue_request, classify_table_request
from shared.delivery.event_services import EventServices
from shared.delivery.services import get_services, reset_services
from shared.domain.event_types import PREFIX
from shared.publish.outcome import Gone, Refused, RetryLater
from shared.twilio.sender import TwilioSender
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.app import user_function
from tests.support.fake_destinations import FakeGrid, FakeHooks
from tests.support.fake_twilio import FakeTwilio, reply
from tests.support.requests import api_get, api_post, signed_form, trigger_message

pytestmark = pytest.mark.integration

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
CALLBACK_SECRET = "whsec_" + base64.b64encode(b"c" * 32).decode()
HOOK = "https://hooks.example.com/events"
CALLBACK = "https://producer.example.com/cb"
TO = "+15557654321"
OUR_NUMBER = "+15005550006"


class EventGateway(Gateway):
    hooks: FakeHooks
    grid: FakeGrid

    @property
    def events(self) -> EventServices:
        assert self.services.events is not None
        return self.services.events

    def fake_destinations(self) -> None:
        self.events.use_sender(self.hooks)
        self.events.use_grid(self.grid)

    async def reload(self) -> None:
        await super().reload()
        self.fake_destinations()

    async def run_events(self, quiet_seconds: float = 2.0, limit: int = 200) -> int:
        """Hand the events queue's messages to the trigger until none shows up for a while."""
        handled = 0
        quiet = 0.0
        while quiet < quiet_seconds and handled < limit:
            got = False
            async for message in self.events.queue.receive_messages(visibility_timeout=30):
                got = True
                body = str(message.content).encode()
                await self.events.queue.delete_message(message)
                await user_function("events_publisher")(trigger_message(message.id, body))
                handled += 1
            if not got:
                await asyncio.sleep(0.25)
                quiet += 0.25
            else:
                quiet = 0.0
        return handled


@pytest.fixture
def events_env(gateway_env: dict[str, str]) -> dict[str, str]:
    suffix = secrets.token_hex(4)
    return {
        **gateway_env,
        "EVENTS_QUEUE": f"events-{suffix}",
        "EVENT_DEAD_LETTER_TABLE": f"EventDeadLetters{suffix}",
        "EVENT_DESTINATION_TABLE": f"EventDestinations{suffix}",
        "EVENT_WEBHOOK_URL": HOOK,
        "EVENT_WEBHOOK_SECRET": SECRET,
        "EVENT_GRID_TOPIC_ENDPOINT": "https://topic.westeurope-1.eventgrid.azure.net/api/events",
        "EVENT_GRID_TOPIC_KEY": "grid-key",
        "EVENT_CALLBACK_SECRET": CALLBACK_SECRET,
        "EVENT_SIGNAL_DELAY_SECONDS": "1",
        "EVENT_SIGNAL_CHECKS": "2",
        "EVENT_RETRY_FIRST_SECONDS": "1",
        "EVENT_RETRY_MAX_SECONDS": "1",
    }


@pytest.fixture
async def gw(
    events_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EventGateway]:
    for name, value in events_env.items():
        monkeypatch.setenv(name, value)
    await reset_services()
    services = await get_services()
    fake = FakeTwilio()
    services.use_sender(TwilioSender(services.settings, http_client=fake))
    gateway = EventGateway(services, fake)
    gateway.hooks, gateway.grid = FakeHooks(), FakeGrid()
    gateway.fake_destinations()
    yield gateway
    await reset_services()


async def call(name: str, request: Any) -> Any:
    return await user_function(name)(request)


async def send_sms(gw: EventGateway, **extra: Any) -> str:
    created = await call("send_message", api_post("messages", {"to": TO, "body": "hi", **extra}))
    assert created.status_code == 202, created.get_body()
    return str(json.loads(created.get_body())["id"])


async def sent_and_called_back(gw: EventGateway, *statuses: str, **extra: Any) -> str:
    record_id = await send_sms(gw, **extra)
    sid = "SM" + secrets.token_hex(16)
    gw.twilio.script(reply(201, {"sid": sid, "status": "queued", "to": TO, "from": OUR_NUMBER}))
    for message in await gw.queued_messages():
        await user_function("outbound_worker")(message)
    for status in statuses:
        params = {"MessageSid": sid, "MessageStatus": status, "To": TO}
        url = f"{PUBLIC_BASE_URL}/api/twilio/status?id={record_id}"
        await call("twilio_status", signed_form(url, params, AUTH_TOKEN))
    return record_id


def short(name: str) -> str:
    return name.removeprefix(PREFIX + ".")


async def test_a_delivered_sms_is_one_event_of_the_default_set_everywhere(
    gw: EventGateway,
) -> None:
    record_id = await sent_and_called_back(gw, "sent", "delivered")
    await gw.run_events()

    assert [short(e["type"]) for _, e, _ in gw.hooks.sent] == ["sms.delivered"]
    assert [short(e["type"]) for e in gw.grid.events] == ["sms.delivered"]
    url, event, used = gw.hooks.sent[0]
    assert (url, used, event["subject"], event["source"]) == (
        HOOK,
        (SECRET,),
        record_id,
        PUBLIC_BASE_URL,
    )
    assert event == gw.grid.events[0]
    assert event["data"]["deliveryStatus"] == "delivered"
    assert event["data"]["previousStatus"] == "sent"


async def test_every_transition_is_one_setting_away_and_sorts_into_history_order(
    gw: EventGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENT_WEBHOOK_TYPES", "all")
    await gw.reload()
    record_id = await sent_and_called_back(gw, "sent", "delivered")
    await gw.run_events()

    mine = [event for _, event, _ in gw.hooks.sent if event["subject"] == record_id]
    ordered = sorted(mine, key=lambda event: event["sequence"])
    assert [short(e["type"]) for e in ordered] == [
        "sms.accepted", "sms.sending", "sms.queued", "sms.sent", "sms.delivered",
    ]  # fmt: skip
    found = await gw.services.log.read(record_id)
    assert found is not None
    history = [event.status for event in found[1]]
    positions = [history.index(e["data"]["status"]) for e in ordered]
    assert positions == sorted(positions)
    assert len({event["id"] for event in mine}) == len(mine)


async def test_an_inbound_text_is_sms_received_with_its_message(gw: EventGateway) -> None:
    sid = "SM" + secrets.token_hex(16)
    params = {"MessageSid": sid, "From": TO, "To": OUR_NUMBER, "Body": "STOP"}
    await call("twilio_sms", signed_form(f"{PUBLIC_BASE_URL}/api/twilio/sms", params, AUTH_TOKEN))
    await gw.run_events()

    (event,) = [e for _, e, _ in gw.hooks.sent]
    assert short(event["type"]) == "sms.received"
    assert (event["data"]["message"], event["data"]["from"]) == ("STOP", TO)


async def test_a_callback_url_gets_its_records_events_signed_with_the_gateway_secret(
    gw: EventGateway,
) -> None:
    record_id = await sent_and_called_back(
        gw, "sent", "delivered", callback_url=CALLBACK, callback_events=["sms.sent", "default"]
    )
    await gw.run_events()

    mine = [(event, used) for url, event, used in gw.hooks.sent if url == CALLBACK]
    assert sorted(short(e["type"]) for e, _ in mine) == ["sms.delivered", "sms.sent"]
    assert all(used == (CALLBACK_SECRET,) and e["subject"] == record_id for e, used in mine)


async def test_a_refused_event_is_dead_lettered_at_once_and_replayed(gw: EventGateway) -> None:
    gw.hooks.outcomes = [Refused("400 Bad Request")]
    await sent_and_called_back(gw, "delivered")
    await gw.run_events()
    assert len(gw.hooks.sent) == 1

    listed = await call("list_dead_letters", api_get("events/dead-letters", {}))
    (letter,) = json.loads(listed.get_body())["items"]
    assert (letter["destination"], letter["attempts"]) == ("webhook", 1)
    assert letter["reason"].startswith("refused: 400")

    body = {"day": letter["day"], "key": letter["key"]}
    replayed = await call("replay_dead_letters", api_post("events/dead-letters/replay", body))
    assert json.loads(replayed.get_body())["replayed"] == 1
    await gw.run_events()
    assert [e["id"] for _, e, _ in gw.hooks.sent] == [letter["event_id"]] * 2
    listed = await call("list_dead_letters", api_get("events/dead-letters", {}))
    assert json.loads(listed.get_body())["items"] == []


async def test_retries_honour_the_budget_then_dead_letter(
    gw: EventGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENT_RETRY_BUDGET_HOURS", str(2.5 / 3600))
    await gw.reload()
    gw.hooks.outcomes = [RetryLater("503") for _ in range(50)]
    await sent_and_called_back(gw, "delivered")
    await gw.run_events(quiet_seconds=3)

    assert len(gw.hooks.sent) >= 2
    assert len({e["id"] for _, e, _ in gw.hooks.sent}) == 1
    listed = await call("list_dead_letters", api_get("events/dead-letters", {}))
    (letter,) = json.loads(listed.get_body())["items"]
    assert letter["reason"].startswith("retries spent") and letter["attempts"] >= 2
    assert len(gw.grid.events) == 1


async def test_a_retry_goes_to_the_failed_destination_only(gw: EventGateway) -> None:
    gw.grid.outcomes = [RetryLater("429", retry_after_seconds=1)]
    await sent_and_called_back(gw, "delivered")
    await gw.run_events()

    assert len(gw.grid.published) == 2
    assert gw.grid.published[0] == gw.grid.published[1]
    assert len(gw.hooks.sent) == 1


async def test_a_410_switches_the_subscription_off_and_says_so(
    gw: EventGateway, caplog: pytest.LogCaptureFixture
) -> None:
    gw.hooks.outcomes = [Gone("410 Gone")]
    await sent_and_called_back(gw, "delivered")
    await gw.run_events()
    await gw.reload()
    await sent_and_called_back(gw, "delivered")
    await gw.run_events()

    assert len(gw.hooks.sent) == 1
    assert len(gw.grid.events) == 2
    assert any(r.getMessage().startswith("event_destination_gone") for r in caplog.records)


async def test_a_410_from_a_callback_url_switches_off_that_records_url(gw: EventGateway) -> None:
    record_id = await send_sms(gw, callback_url=CALLBACK, callback_events=["all"])
    gw.hooks.outcomes = [Gone("410")]
    hooks_before = len(gw.hooks.sent)
    await gw.run_events()
    record = await gw.services.log.get(record_id)
    assert record is not None and record.callback_gone is True
    assert len(gw.hooks.sent) == hooks_before + 1


async def test_a_host_killed_after_the_write_still_publishes(gw: EventGateway) -> None:
    await sent_and_called_back(gw, "delivered")
    await gw.reload()
    await gw.run_events()
    assert [short(e["type"]) for _, e, _ in gw.hooks.sent] == ["sms.delivered"]


async def test_a_signal_whose_write_never_happened_is_dropped_with_a_log_line(
    gw: EventGateway, caplog: pytest.LogCaptureFixture
) -> None:
    from shared.delivery.event_signals import Signal, put_signals

    await put_signals(gw.events.queue, [Signal("never-written", "delivered")], 0, 1)
    handled = await gw.run_events(quiet_seconds=4)

    assert handled == 2
    assert gw.hooks.sent == []
    assert any(r.getMessage().startswith("event_signal_dropped") for r in caplog.records)


async def test_a_callback_url_without_the_gateway_secret_is_refused_naming_it(
    gw: EventGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENT_CALLBACK_SECRET")
    await gw.reload()
    body = {"to": TO, "body": "hi", "callback_url": CALLBACK}
    refused = await call("send_message", api_post("messages", body))
    error = json.loads(refused.get_body())["error"]
    assert (refused.status_code, error["field"]) == (400, "callback_url")
    assert "EVENT_CALLBACK_SECRET" in error["message"]


async def test_no_destination_means_no_events_request_and_no_hook(
    azurite: Azurite, gateway_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every storage request of a send, a delivery and a received text, counted by the proxy
    in front of Azurite: none names an events queue or table."""
    from tests.support.personal_data import sent_and_delivered, texted

    table = ProxyConfig(f"http://127.0.0.1:{azurite.table_port}", classify=classify_table_request)
    queue = ProxyConfig(f"http://127.0.0.1:{azurite.queue_port}", classify=classify_queue_request)
    async with FaultProxy(table) as tables, FaultProxy(queue) as queues:
        connection = azurite.connection_string
        for service, port, proxy in (
            ("Table", azurite.table_port, tables),
            ("Queue", azurite.queue_port, queues),
        ):
            connection = connection.replace(
                f"{service}Endpoint=http://127.0.0.1:{port}/",
                f"{service}Endpoint=http://127.0.0.1:{proxy.port}/",
            )
        for name, value in {**gateway_env, "AzureWebJobsStorage": connection}.items():
            monkeypatch.setenv(name, value)
        await reset_services()
        services = await get_services()
        fake = FakeTwilio()
        services.use_sender(TwilioSender(services.settings, http_client=fake))
        assert services.events is None
        await sent_and_delivered(services, fake, PUBLIC_BASE_URL, AUTH_TOKEN)
        await texted(PUBLIC_BASE_URL, AUTH_TOKEN, "hello")
        await reset_services()
    counted = {**tables.stats.requests, **queues.stats.requests}
    assert sum(counted.values()) > 5
    assert not [name for name in counted if "vent" in name], counted
