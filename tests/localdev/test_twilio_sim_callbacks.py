"""Status callbacks and TwiML fetches: signed, in Twilio's order, and reflected in GET."""

from __future__ import annotations

import pytest
from twilio.rest import Client

from localdev.twilio_sim import SimConfig, SimulatorServer
from localdev.twilio_sim.testing import WebhookReceiver

SENDER = "+15005550006"
RECIPIENT = "+15558675310"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.01, seed=2)


async def settle(sim: SimulatorServer) -> None:
    assert await sim.state.tasks.wait_idle(5)


async def send_message(twilio: Client, app: WebhookReceiver) -> str:
    message = await twilio.messages.create_async(
        to=RECIPIENT, from_=SENDER, body="hi", status_callback=app.url("/status")
    )
    sid: str = message.sid
    return sid


async def test_message_callbacks_arrive_in_order_with_valid_signatures(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sid = await send_message(twilio, app)
    await settle(sim)

    received = app.received("/status")

    assert [request.params["MessageStatus"] for request in received] == ["sent", "delivered"]
    assert all(request.signature_valid for request in received)
    assert {request.params["MessageSid"] for request in received} == {sid}


async def test_message_callback_carries_twilio_params(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sid = await send_message(twilio, app)
    await settle(sim)

    params = app.received("/status")[-1].params

    assert params == {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": sim.state.config.account_sid,
        "From": SENDER,
        "To": RECIPIENT,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "ApiVersion": "2010-04-01",
    }


async def test_delivered_message_shows_delivered_on_fetch(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sid = await send_message(twilio, app)
    await settle(sim)

    fetched = await twilio.messages(sid).fetch_async()

    assert fetched.status == "delivered"
    assert fetched.date_sent is not None
    assert fetched.price is not None


async def test_undelivered_outcome_reports_error_30003(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sim.state.behaviour = sim.state.behaviour.updated({"message_outcome": "undelivered"})
    sid = await send_message(twilio, app)
    await settle(sim)

    final = app.received("/status")[-1].params
    fetched = await twilio.messages(sid).fetch_async()

    assert (final["MessageStatus"], final["ErrorCode"]) == ("undelivered", "30003")
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


async def test_failed_outcome_skips_sent_and_reports_error_30008(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sim.state.behaviour = sim.state.behaviour.updated({"message_outcome": "failed"})
    await send_message(twilio, app)
    await settle(sim)

    received = app.received("/status")

    assert [request.params["MessageStatus"] for request in received] == ["failed"]
    assert received[0].params["ErrorCode"] == "30008"


async def test_messaging_service_message_is_queued_then_given_a_sender(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    await twilio.messages.create_async(
        to=RECIPIENT,
        messaging_service_sid="MG" + "d" * 32,
        body="hi",
        status_callback=app.url("/status"),
    )
    await settle(sim)

    received = app.received("/status")

    assert [r.params["MessageStatus"] for r in received] == ["queued", "sent", "delivered"]
    assert received[0].params["From"] == SENDER


async def test_out_of_order_sends_callbacks_in_reverse(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sim.state.behaviour = sim.state.behaviour.updated({"out_of_order": True})
    sid = await send_message(twilio, app)
    await settle(sim)

    statuses = [request.params["MessageStatus"] for request in app.received("/status")]
    fetched = await twilio.messages(sid).fetch_async()

    assert statuses == ["delivered", "sent"]
    assert fetched.status == "delivered"


async def test_callbacks_are_recorded_with_the_apps_answer(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    app.reply("/status", "", status=503, content_type="text/plain")
    sid = await send_message(twilio, app)
    await settle(sim)

    records = sim.state.store.messages[sid].callbacks

    assert [record.status for record in records] == [503, 503]
    assert [record.params["MessageStatus"] for record in records] == ["sent", "delivered"]
    assert [record.signature for record in records] == [
        request.signature for request in app.received("/status")
    ]


async def test_unreachable_callback_url_is_recorded_not_fatal(
    sim: SimulatorServer, twilio: Client
) -> None:
    message = await twilio.messages.create_async(
        to=RECIPIENT, from_=SENDER, body="hi", status_callback="http://127.0.0.1:9/status"
    )
    await settle(sim)

    records = sim.state.store.messages[message.sid].callbacks

    assert len(records) == 2
    assert all(record.status is None and record.error for record in records)
    assert sim.state.store.messages[message.sid].status == "delivered"


async def make_call(
    twilio: Client, app: WebhookReceiver, events: list[str] | None = None, **extra: str
) -> str:
    call = await twilio.calls.create_async(
        to=RECIPIENT,
        from_=SENDER,
        status_callback=app.url("/call-status"),
        status_callback_event=events,
        **({"url": app.url("/voice")} | extra),
    )
    sid: str = call.sid
    return sid


async def test_call_without_events_sends_only_completed(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    await make_call(twilio, app)
    await settle(sim)

    received = app.received("/call-status")

    assert [request.params["CallStatus"] for request in received] == ["completed"]
    assert received[0].signature_valid


async def test_call_with_all_events_reports_each_step_in_order(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    await make_call(twilio, app, ALL_EVENTS)
    await settle(sim)

    received = app.received("/call-status")

    assert [r.params["CallStatus"] for r in received] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [r.params["SequenceNumber"] for r in received] == ["0", "1", "2", "3"]
    assert all(r.signature_valid for r in received)


async def test_call_callback_carries_twilio_params(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sid = await make_call(twilio, app)
    await settle(sim)

    params = app.received("/call-status")[0].params

    assert params["CallSid"] == sid
    assert params["AccountSid"] == sim.state.config.account_sid
    assert (params["From"], params["To"]) == (SENDER, RECIPIENT)
    assert params["Direction"] == "outbound-api"
    assert params["ApiVersion"] == "2010-04-01"
    assert params["CallbackSource"] == "call-progress-events"
    assert params["Timestamp"].endswith("+0000")
    assert int(params["CallDuration"]) >= 1


async def test_call_fetches_twiml_from_url_with_a_valid_signature(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sid = await make_call(twilio, app)
    await settle(sim)

    [fetch] = app.received("/voice")
    record = sim.state.store.calls[sid].twiml_record

    assert fetch.method == "POST"
    assert fetch.signature_valid
    assert (fetch.params["CallSid"], fetch.params["CallStatus"]) == (sid, "in-progress")
    assert record is not None
    assert (record.source, record.url, record.http_status) == ("url", app.url("/voice"), 200)
    assert record.signature == fetch.signature
    assert record.twiml is not None
    assert "<Say>Hello</Say>" in record.twiml


async def test_call_fetches_twiml_with_get_when_asked(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sid = await make_call(twilio, app, method="GET")
    await settle(sim)

    [fetch] = app.received("/voice")

    assert fetch.method == "GET"
    assert fetch.params["CallSid"] == sid
    assert fetch.signature_valid


async def test_inline_twiml_is_recorded_without_a_fetch(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    twiml = "<Response><Say>inline</Say></Response>"
    sid = await make_call(twilio, app, twiml=twiml)
    await settle(sim)

    record = sim.state.store.calls[sid].twiml_record

    assert app.received("/voice") == []
    assert record is not None
    assert (record.source, record.twiml, record.error_code) == ("inline", twiml, None)
    assert sim.state.store.calls[sid].status == "completed"


async def test_invalid_twiml_fails_the_call_with_12100(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    app.reply("/voice", "<html>not twiml</html>")
    sid = await make_call(twilio, app, ALL_EVENTS)
    await settle(sim)

    call = await twilio.calls(sid).fetch_async()
    record = sim.state.store.calls[sid].twiml_record
    statuses = [request.params["CallStatus"] for request in app.received("/call-status")]

    assert call.status == "failed"
    assert record is not None
    assert record.error_code == 12100
    assert statuses == ["initiated", "ringing", "failed"]


async def test_twiml_url_answering_500_fails_the_call_with_11200(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    app.reply("/voice", "boom", status=500, content_type="text/plain")
    sid = await make_call(twilio, app)
    await settle(sim)

    record = sim.state.store.calls[sid].twiml_record

    assert sim.state.store.calls[sid].status == "failed"
    assert record is not None
    assert (record.error_code, record.http_status) == (11200, 500)


async def test_failed_call_callback_carries_the_twiml_error_code_and_message(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    app.reply("/voice", "refused", status=403, content_type="text/plain")
    await make_call(twilio, app)
    await settle(sim)

    params = app.received("/call-status")[-1].params

    assert (params["CallStatus"], params["ErrorCode"]) == ("failed", "11200")
    assert "403" in params["ErrorMessage"]


@pytest.mark.parametrize("outcome", ["busy", "no-answer", "failed"])
async def test_unanswered_call_outcome_ends_without_fetching_twiml(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver, outcome: str
) -> None:
    sim.state.behaviour = sim.state.behaviour.updated({"call_outcome": outcome})
    sid = await make_call(twilio, app)
    await settle(sim)

    [final] = app.received("/call-status")

    assert final.params["CallStatus"] == outcome
    assert final.params["CallDuration"] == "0"
    assert app.received("/voice") == []
    assert sim.state.store.calls[sid].status == outcome


async def test_call_status_callback_with_get_signs_the_query_url(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    await make_call(twilio, app, status_callback_method="GET")
    await settle(sim)

    [callback] = app.received("/call-status")

    assert callback.method == "GET"
    assert callback.params["CallStatus"] == "completed"
    assert callback.signature_valid


async def test_out_of_order_call_callbacks_arrive_newest_first(
    sim: SimulatorServer, twilio: Client, app: WebhookReceiver
) -> None:
    sim.state.behaviour = sim.state.behaviour.updated({"out_of_order": True})
    await make_call(twilio, app, ALL_EVENTS)
    await settle(sim)

    sequence = [request.params["SequenceNumber"] for request in app.received("/call-status")]

    assert sequence == ["3", "2", "1", "0"]
