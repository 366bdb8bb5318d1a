"""The write hook of events out: which writes signal, and signals of a moment sharing one
queue message."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from typing import Any

from shared.delivery.event_routes import Routing
from shared.delivery.event_signals import EventSignals, Signal, parse_signals
from shared.domain.outbound import OutboundRequest
from shared.domain.records import LogEvent
from shared.domain.transitions import GATEWAY, TWILIO, new_outbound_record
from shared.platform.event_settings import EventSettings, WebhookSubscription

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None]] = []

    async def send_message(self, text: str, **options: Any) -> None:
        self.sent.append((text, options.get("visibility_timeout")))


def signals(types: tuple[str, ...] = ("default",), callbacks: bool = False) -> EventSignals:
    hook = WebhookSubscription(1, "https://h.example.com/e", (SECRET,), types)
    events = EventSettings(webhooks=(hook,), callback_secrets=(SECRET,) if callbacks else ())
    return EventSignals(FakeQueue(), Routing.from_settings(events), 5.0)  # type: ignore[arg-type]


def sms(**changes: Any) -> Any:
    request = OutboundRequest(id="sms-1", kind="sms", to="+15551234567", body="hi")
    record, _ = new_outbound_record(request, source="api", store_bodies=True)
    return replace(record, **changes)


def test_a_final_status_of_the_default_set_is_signalled() -> None:
    before, after = sms(status="sent", status_rank=5), sms(status="delivered", status_rank=100)
    found = signals().signal_for("sms-1", before, after, LogEvent("delivered", TWILIO))
    assert found == Signal("sms-1", "delivered")


def test_a_transition_outside_the_set_puts_nothing() -> None:
    before, after = sms(), sms(status="sending", status_rank=1)
    assert signals().signal_for("sms-1", before, after, LogEvent("sending", GATEWAY)) is None
    assert signals().signal_for("sms-1", None, sms(), LogEvent("accepted", GATEWAY)) is None


def test_a_write_that_moves_no_status_puts_nothing() -> None:
    record = sms(status="delivered", status_rank=100)
    found = signals(("all",)).signal_for("sms-1", record, record, LogEvent("checking", GATEWAY))
    assert found is None


def test_a_callback_row_is_signalled_when_its_status_may_be_wanted() -> None:
    event = LogEvent("delivered", TWILIO)
    assert signals().signal_for("sms-1", None, None, event) == Signal("sms-1", "delivered")
    assert signals().signal_for("sms-1", None, None, LogEvent("sent", TWILIO)) is None
    assert signals(callbacks=True).signal_for("sms-1", None, None, LogEvent("sent", TWILIO))


def test_a_records_callback_url_asks_for_its_own_types() -> None:
    record = sms(callback_url="https://p.example.com/cb", callback_events='["sms.sending"]')
    moved = replace(record, status="sending", status_rank=1)
    hook = signals(callbacks=True)
    assert hook.signal_for("sms-1", record, moved, LogEvent("sending", GATEWAY))
    gone = replace(moved, callback_gone=True)
    assert hook.signal_for("sms-1", record, gone, LogEvent("sending", GATEWAY)) is None


async def test_signals_of_the_same_moment_share_one_queue_message() -> None:
    hook = signals(("all",))
    writes = [
        hook.before_write(f"sms-{n}", None, replace(sms(), id=f"sms-{n}"), LogEvent("x", GATEWAY))
        for n in range(10)
    ]
    await asyncio.gather(*writes)

    queue = hook._queue
    assert isinstance(queue, FakeQueue)
    ((text, delay),) = queue.sent
    parsed, check = parse_signals(json.loads(text))
    assert (len(parsed), check, delay) == (10, 0, 5)
