"""The queue worker against Azurite, with Twilio's transport faked."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import azure.functions as func
import pytest

from shared.domain.outbound import parse_request
from shared.domain.records import Change, LogEvent, LogRecord, utcnow
from shared.domain.transitions import AMBIGUOUS, GIVEN_UP, claim, new_outbound_record
from shared.handlers import worker
from tests.integration.conftest import Gateway
from tests.support.app import user_function
from tests.support.fake_twilio import reply, twilio_error
from tests.support.requests import api_post, trigger_message
from tests.support.spies import calls_to

pytestmark = pytest.mark.integration

SMS = {"kind": "sms", "to": "+15551234567", "body": "hello"}


def queue_message(
    document: object, *, dequeue_count: int = 1, base64_encoded: bool = False
) -> func.QueueMessage:
    text = json.dumps(document)
    if base64_encoded:
        text = base64.b64encode(text.encode()).decode()
    return trigger_message("m-1", text.encode(), dequeue_count)


async def run_worker(message: func.QueueMessage) -> None:
    await user_function("outbound_worker")(message)


async def status_of(gateway: Gateway, record_id: str) -> str:
    record = await gateway.services.log.get(record_id)
    assert record is not None
    return record.status


async def test_api_request_is_sent_and_records_sid(gateway: Gateway) -> None:
    await user_function("send_message")(api_post("messages", {"to": "+15551234567", "body": "hi"}))
    (message,) = await gateway.queued_messages()

    await run_worker(message)

    (create,) = gateway.twilio.creates
    record_id = json.loads(message.get_body())["id"]
    assert create.data["To"] == "+15551234567"
    assert create.data["StatusCallback"].endswith(f"/api/twilio/status?id={record_id}")
    record = await gateway.services.log.get(record_id)
    assert record is not None
    assert record.status == "queued" and record.twilio_sid and record.twilio_sid.startswith("SM")
    assert record.attempts == 1


async def test_plain_json_from_another_service_is_logged_and_sent(gateway: Gateway) -> None:
    await run_worker(queue_message({**SMS, "id": "plain-1"}))

    assert len(gateway.twilio.creates) == 1
    record = await gateway.services.log.get("plain-1")
    assert record is not None and record.source == "queue" and record.status == "queued"


async def test_base64_json_is_decoded_and_sent(gateway: Gateway) -> None:
    await run_worker(queue_message({**SMS, "id": "b64-1"}, base64_encoded=True))

    assert await status_of(gateway, "b64-1") == "queued"


async def test_redelivered_message_with_a_sid_is_not_sent_again(gateway: Gateway) -> None:
    message = queue_message({**SMS, "id": "again-1"})

    await run_worker(message)
    await run_worker(queue_message({**SMS, "id": "again-1"}, dequeue_count=2))

    assert len(gateway.twilio.creates) == 1


async def test_invalid_message_is_rejected_not_retried(gateway: Gateway) -> None:
    await run_worker(queue_message({"kind": "sms", "id": "bad-1", "to": "nope", "body": "x"}))

    record = await gateway.services.log.get("bad-1")
    assert record is not None and record.status == "rejected"
    assert record.error_message is not None and "invalid_to" in record.error_message
    assert gateway.twilio.creates == []


async def test_undecodable_message_is_rejected_under_the_queue_message_id(gateway: Gateway) -> None:
    await run_worker(trigger_message("raw-queue-id", b"not json at all"))

    record = await gateway.services.log.get("raw-queue-id")
    assert record is not None and record.status == "rejected"


async def test_permanent_twilio_error_is_recorded_and_not_retried(gateway: Gateway) -> None:
    gateway.twilio.script(twilio_error(400, 21211, "The 'To' number is not valid"))

    await run_worker(queue_message({**SMS, "id": "perm-1"}))

    record = await gateway.services.log.get("perm-1")
    assert record is not None and record.status == "failed"
    assert record.error_code == 21211


async def test_a_refused_send_waits_on_the_queue_without_failing_the_delivery(
    gateway: Gateway,
) -> None:
    gateway.twilio.script(twilio_error(429, 20429, "Too Many Requests"))

    await run_worker(queue_message({**SMS, "id": "trans-1"}))

    record = await gateway.services.log.get("trans-1")
    assert record is not None and record.status == "sending" and record.last_outcome == "not_sent"
    assert record.waits == 1 and record.next_attempt_at is not None
    assert record.next_attempt_at > utcnow()
    assert await gateway.queued_messages() == []  # hidden until the next try
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 1


async def test_retry_after_a_clean_refusal_sends_without_reconciling(gateway: Gateway) -> None:
    gateway.twilio.script(twilio_error(429, 20429, "Too Many Requests"))
    await run_worker(queue_message({**SMS, "id": "trans-2"}))

    await run_worker(queue_message({**SMS, "id": "trans-2"}))

    assert [request.method for request in gateway.twilio.requests] == ["POST", "POST"]
    record = await gateway.services.log.get("trans-2")
    assert record is not None and record.status == "queued" and record.attempts == 2
    assert "next_attempt_at" not in record.public_json()


async def test_a_refusal_on_the_hosts_last_delivery_still_waits(gateway: Gateway) -> None:
    gateway.twilio.script(twilio_error(503, 20503, "Service Unavailable"))
    last = worker.max_dequeue_count()

    await run_worker(queue_message({**SMS, "id": "last-0"}, dequeue_count=last))

    record = await gateway.services.log.get("last-0")
    assert record is not None and record.status == "sending" and record.waits == 1
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 1


async def test_twilios_retry_after_sets_the_next_try(gateway: Gateway) -> None:
    refusal = twilio_error(429, 20429, "Too Many Requests")
    refusal.headers = {"Retry-After": "900"}
    gateway.twilio.script(refusal)

    await run_worker(queue_message({**SMS, "id": "ra-1"}))

    record = await gateway.services.log.get("ra-1")
    assert record is not None and record.next_attempt_at is not None
    assert record.next_attempt_at >= utcnow() + timedelta(seconds=890)


async def test_queue_full_21611_is_a_wait_not_a_failure(gateway: Gateway) -> None:
    gateway.twilio.script(twilio_error(400, 21611, "This 'From' number has exceeded the queue"))

    await run_worker(queue_message({**SMS, "id": "full-1"}))

    record = await gateway.services.log.get("full-1")
    assert record is not None and record.status == "sending" and record.waits == 1


async def test_a_refusal_past_the_retry_budget_fails_with_twilios_code(gateway: Gateway) -> None:
    await claim_long_ago(gateway, "budget-1", "not_sent")
    await force(gateway, "budget-1", retrying_since=utcnow() - timedelta(hours=25), waits=40)
    gateway.twilio.script(twilio_error(429, 20429, "Too Many Requests"))

    await run_worker(queue_message({**SMS, "id": "budget-1"}))

    record = await gateway.services.log.get("budget-1")
    assert record is not None and record.status == "failed" and record.error_code == 20429
    assert record.error_message is not None and "gave up after" in record.error_message


async def test_a_send_that_may_have_sent_past_the_budget_is_left_to_the_status_checks(
    gateway: Gateway,
) -> None:
    await claim_long_ago(gateway, "budget-2", "not_sent")
    await force(gateway, "budget-2", retrying_since=utcnow() - timedelta(hours=25))
    gateway.twilio.script(twilio_error(503, 20503, "Service Unavailable"))

    await run_worker(queue_message({**SMS, "id": "budget-2"}))

    record = await gateway.services.log.get("budget-2")
    assert record is not None and record.status == "sending"
    assert record.last_outcome == GIVEN_UP
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 1


async def test_a_reconcile_that_cannot_reach_twilio_on_the_last_delivery_waits(
    gateway: Gateway,
) -> None:
    await claim_long_ago(gateway, "unreach-1")
    gateway.twilio.script(twilio_error(503, 20503, "Service Unavailable"))
    last = worker.max_dequeue_count()

    await run_worker(queue_message({**SMS, "id": "unreach-1"}, dequeue_count=last))

    record = await gateway.services.log.get("unreach-1")
    assert record is not None and record.status == "sending"
    assert record.last_outcome == AMBIGUOUS and record.waits == 1
    assert gateway.twilio.creates == []
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 1


async def test_a_reconcile_the_list_api_refuses_waits_and_never_resends(
    gateway: Gateway,
) -> None:
    await claim_long_ago(gateway, "unreach-2")
    gateway.twilio.script(twilio_error(403, 20003, "Authenticate"))

    await run_worker(queue_message({**SMS, "id": "unreach-2"}, dequeue_count=2))

    record = await gateway.services.log.get("unreach-2")
    assert record is not None and record.status == "sending" and record.waits == 1
    assert gateway.twilio.creates == []


async def test_processing_that_fails_on_the_last_delivery_leaves_a_final_record(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def keeps_changing(*_: object) -> None:
        raise worker.RetryableSendError("kept changing while claiming")

    monkeypatch.setattr(worker, "_send", keeps_changing)
    last = worker.max_dequeue_count()

    with pytest.raises(worker.RetryableSendError):
        await run_worker(queue_message({**SMS, "id": "poison-1"}, dequeue_count=last))

    record = await gateway.services.log.get("poison-1")
    assert record is not None and record.status == "failed"
    assert record.error_message is not None and "RetryableSendError" in record.error_message


async def claim_long_ago(gateway: Gateway, record_id: str, outcome: str = AMBIGUOUS) -> None:
    """A record whose claim was taken before the lease, as after a crash mid-send."""
    request = parse_request({**SMS, "id": record_id})
    record, event = new_outbound_record(request, source="queue", store_bodies=True)
    await gateway.services.log.create(record, event)
    long_ago = utcnow() - timedelta(minutes=10)
    await force(gateway, record_id, status="sending", claimed_at=long_ago, last_outcome=outcome)


async def force(gateway: Gateway, record_id: str, **fields: object) -> None:
    def decide(record: LogRecord) -> Change:
        return Change(LogEvent("test", "test"), fields)

    if "status" in fields and "status_rank" not in fields:
        fields.setdefault("status_rank", 1)
    await gateway.services.log.update(record_id, decide)


def listed_message(sid: str, *, age: timedelta, body: str = SMS["body"]) -> dict[str, object]:
    return {
        "sid": sid,
        "status": "sent",
        "to": SMS["to"],
        "body": body,
        "date_created": (utcnow() - age).strftime("%a, %d %b %Y %H:%M:%S +0000"),
    }


async def test_ambiguous_failure_waits_for_its_lease_without_spending_a_retry(
    gateway: Gateway,
) -> None:
    gateway.twilio.script(twilio_error(500, 20500, "created, then failed"))
    await run_worker(queue_message({**SMS, "id": "amb-0"}))
    record = await gateway.services.log.get("amb-0")
    assert record is not None and record.next_attempt_at is not None
    assert record.claimed_at is not None
    assert record.next_attempt_at >= record.claimed_at + timedelta(
        seconds=gateway.services.settings.send_lease_seconds
    )

    await run_worker(queue_message({**SMS, "id": "amb-0"}, dequeue_count=2))

    assert [request.method for request in gateway.twilio.requests] == ["POST"]
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 2


async def test_expired_claim_is_reconciled_with_twilio_before_resending(
    gateway: Gateway,
) -> None:
    await claim_long_ago(gateway, "amb-1")
    gateway.twilio.listed = [listed_message("SM" + "b" * 32, age=timedelta(minutes=5))]

    await run_worker(queue_message({**SMS, "id": "amb-1"}, dequeue_count=2))

    assert [request.method for request in gateway.twilio.requests] == ["GET"]
    record = await gateway.services.log.get("amb-1")
    assert record is not None and record.twilio_sid == "SM" + "b" * 32


async def test_expired_claim_not_found_at_twilio_is_sent_again(gateway: Gateway) -> None:
    await claim_long_ago(gateway, "amb-2", "in_flight")

    await run_worker(queue_message({**SMS, "id": "amb-2"}, dequeue_count=2))

    assert [request.method for request in gateway.twilio.requests] == ["GET", "POST"]
    assert await status_of(gateway, "amb-2") == "queued"


async def test_reconcile_never_adopts_a_sid_another_record_owns(gateway: Gateway) -> None:
    gateway.twilio.script(reply(201, {"sid": "SM" + "c" * 32, "status": "queued"}))
    await run_worker(queue_message({**SMS, "id": "twin-1"}))
    await claim_long_ago(gateway, "twin-2")
    gateway.twilio.listed = [listed_message("SM" + "c" * 32, age=timedelta(minutes=1))]

    await run_worker(queue_message({**SMS, "id": "twin-2"}, dequeue_count=2))

    assert [request.method for request in gateway.twilio.requests] == ["POST", "GET", "POST"]
    first = await gateway.services.log.get("twin-1")
    second = await gateway.services.log.get("twin-2")
    assert first is not None and second is not None
    assert second.twilio_sid not in (None, first.twilio_sid)


async def test_reconcile_defers_a_match_too_young_to_be_owned_yet(gateway: Gateway) -> None:
    await claim_long_ago(gateway, "young-1")
    gateway.twilio.listed = [listed_message("SM" + "d" * 32, age=timedelta(seconds=0))]

    await run_worker(queue_message({**SMS, "id": "young-1"}, dequeue_count=2))

    assert [request.method for request in gateway.twilio.requests] == ["GET"]
    record = await gateway.services.log.get("young-1")
    assert record is not None and record.twilio_sid is None and record.status == "sending"
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 1


async def test_fresh_claim_by_another_invocation_is_deferred_not_failed(
    gateway: Gateway,
) -> None:
    request = parse_request({**SMS, "id": "busy-1"})
    await gateway.services.log.create(
        *new_outbound_record(request, source="queue", store_bodies=True)
    )
    record = await gateway.services.log.get("busy-1")
    assert record is not None
    await gateway.services.log.update("busy-1", claim(record, utcnow()))
    last = worker.max_dequeue_count()

    await run_worker(queue_message({**SMS, "id": "busy-1"}, dequeue_count=last))

    assert gateway.twilio.requests == []
    assert await status_of(gateway, "busy-1") == "sending"
    assert (await gateway.queue.get_queue_properties()).approximate_message_count == 1


async def test_message_without_id_is_sent_once_across_redeliveries(gateway: Gateway) -> None:
    text = json.dumps(SMS).encode()
    gateway.twilio.script(twilio_error(429, 20429, "Too Many Requests"))
    await run_worker(trigger_message("queue-msg-7", text, 1))

    await run_worker(trigger_message("queue-msg-7", text, 2))
    await run_worker(trigger_message("queue-msg-7", text, 3))

    assert len(gateway.twilio.creates) == 2
    assert await status_of(gateway, "queue-msg-7") == "queued"


async def test_scheduled_message_handled_late_is_sent(gateway: Gateway) -> None:
    send_at = (utcnow() - timedelta(hours=1)).isoformat()

    await run_worker(queue_message({**SMS, "id": "late-1", "send_at": send_at}))

    assert len(gateway.twilio.creates) == 1
    assert await status_of(gateway, "late-1") == "queued"


async def test_opted_out_recipient_is_failed_with_21610_without_calling_twilio(
    gateway: Gateway,
) -> None:
    await gateway.services.opt_outs.apply_keyword(SMS["to"], "STOP")

    await run_worker(queue_message({**SMS, "id": "opt-1"}))

    record = await gateway.services.log.get("opt-1")
    assert record is not None and record.status == "failed" and record.error_code == 21610
    assert gateway.twilio.requests == []


async def test_reused_id_with_another_payload_is_not_sent(gateway: Gateway) -> None:
    await run_worker(queue_message({**SMS, "id": "clash-1"}))

    await run_worker(queue_message({**SMS, "id": "clash-1", "body": "different"}))

    assert len(gateway.twilio.creates) == 1


async def test_future_send_at_is_deferred_back_to_the_queue(gateway: Gateway) -> None:
    send_at = (utcnow() + timedelta(hours=2)).isoformat()

    await run_worker(queue_message({**SMS, "id": "later-1", "send_at": send_at}))

    assert gateway.twilio.requests == []
    assert await gateway.queued_messages() == []  # hidden until send_at
    properties = await gateway.queue.get_queue_properties()
    assert properties.approximate_message_count == 1


async def test_call_with_say_sends_inline_twiml(gateway: Gateway) -> None:
    await run_worker(
        queue_message({"kind": "call", "id": "call-1", "to": "+15551234567", "say": "Hi"})
    )

    (create,) = gateway.twilio.creates
    assert create.path.endswith("/Calls.json")
    assert "<Say>Hi</Say>" in create.data["Twiml"]
    assert await status_of(gateway, "call-1") == "queued"


def test_max_dequeue_count_is_read_from_host_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(worker.DEQUEUE_OVERRIDE, raising=False)
    worker.max_dequeue_count.cache_clear()
    host = json.loads(worker.HOST_JSON.read_text())

    assert worker.max_dequeue_count() == host["extensions"]["queues"]["maxDequeueCount"]


async def test_the_app_setting_override_of_the_dequeue_limit_decides_the_last_delivery(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def keeps_changing(*_: object) -> None:
        raise worker.RetryableSendError("kept changing while claiming")

    monkeypatch.setenv(worker.DEQUEUE_OVERRIDE, "2")
    worker.max_dequeue_count.cache_clear()
    monkeypatch.setattr(worker, "_send", keeps_changing)

    with pytest.raises(worker.RetryableSendError):
        await run_worker(queue_message({**SMS, "id": "override-1"}, dequeue_count=2))
    worker.max_dequeue_count.cache_clear()

    record = await gateway.services.log.get("override-1")
    assert record is not None and record.status == "failed"


EVENT_GRID = {
    "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
    "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/alerts",
    "subject": "backup/nightly",
    "eventType": "Contoso.Backup.Failed",
    "eventTime": "2026-11-26T20:00:00Z",
    "data": {"kind": "call", "to": "+15551234567", "say": "The nightly backup failed."},
    "dataVersion": "1.0",
}


@pytest.mark.parametrize("base64_encoded", [False, True], ids=["json", "base64"])
async def test_event_grid_envelope_is_sent_once_under_its_event_id(
    gateway: Gateway, base64_encoded: bool
) -> None:
    message = queue_message(EVENT_GRID, base64_encoded=base64_encoded)

    await run_worker(message)
    await run_worker(message)  # Event Grid redelivers the same event

    assert len(gateway.twilio.creates) == 1
    record = await gateway.services.log.get(EVENT_GRID["id"])  # type: ignore[arg-type]
    assert record is not None and record.kind == "call" and record.source == "queue"


async def test_cloud_event_is_sent_under_its_event_id(gateway: Gateway) -> None:
    event = {
        "specversion": "1.0",
        "id": "evt-42",
        "source": "/contoso/orders",
        "type": "Contoso.Order.Shipped",
        "data": {"kind": "sms", "to": "+15551234567", "body": "Your order shipped."},
    }

    await run_worker(queue_message(event))

    assert await status_of(gateway, "evt-42") == "queued"
    assert gateway.twilio.creates[0].data["Body"] == "Your order shipped."


async def test_envelope_whose_data_is_not_a_request_is_rejected_naming_it(
    gateway: Gateway,
) -> None:
    event = {**EVENT_GRID, "id": "evt-bad", "data": {"kind": "sms", "to": "+15551234567"}}

    await run_worker(queue_message(event))

    record = await gateway.services.log.get("m-1")
    assert gateway.twilio.creates == []
    assert record is not None and record.status == "rejected"
    assert record.error_message is not None and "missing_body" in record.error_message


README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


async def test_readme_event_grid_example_is_sent_under_its_event_id(gateway: Gateway) -> None:
    start = README.index("```json\n", README.index("What lands on the queue")) + len("```json\n")
    block = README[start : README.index("```", start)]

    await run_worker(queue_message(json.loads(block)))

    assert await status_of(gateway, "backup-2026-11-26") == "queued"
    assert "The nightly backup failed." in gateway.twilio.creates[0].data["Twiml"]


async def test_a_message_the_api_queued_is_claimed_without_a_read(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await user_function("send_message")(api_post("messages", {"to": "+15551234567", "body": "hi"}))
    (message,) = await gateway.queued_messages()
    reads = calls_to(gateway.services.log._table, ("get_entity", "query_entities"), monkeypatch)

    await run_worker(message)

    assert reads == [] and len(gateway.twilio.creates) == 1
    assert await status_of(gateway, json.loads(message.get_body())["id"]) == "queued"


async def test_a_stale_note_from_the_api_is_planned_again_from_the_record(
    gateway: Gateway,
) -> None:
    await user_function("send_message")(api_post("messages", {"to": "+15551234567", "body": "hi"}))
    (message,) = await gateway.queued_messages()
    gateway.twilio.script(twilio_error(429, 20429, "Too Many Requests"))
    await run_worker(message)

    await run_worker(trigger_message("api-msg", message.get_body(), 2))

    assert len(gateway.twilio.creates) == 2
    record = await gateway.services.log.get(json.loads(message.get_body())["id"])
    assert record is not None and record.status == "queued" and record.attempts == 2


async def test_a_redelivery_with_the_apis_note_after_the_send_is_not_sent_again(
    gateway: Gateway,
) -> None:
    await user_function("send_message")(api_post("messages", {"to": "+15551234567", "body": "hi"}))
    (message,) = await gateway.queued_messages()
    await run_worker(message)

    await run_worker(trigger_message("api-msg", message.get_body(), 2))

    assert len(gateway.twilio.creates) == 1


async def test_a_message_whose_record_was_removed_since_the_api_queued_it_is_still_sent(
    gateway: Gateway,
) -> None:
    await user_function("send_message")(api_post("messages", {"to": "+15551234567", "body": "hi"}))
    (message,) = await gateway.queued_messages()
    record_id = json.loads(message.get_body())["id"]
    await gateway.services.log._table.delete_entity(record_id, "summary")

    await run_worker(message)

    assert len(gateway.twilio.creates) == 1
    record = await gateway.services.log.get(record_id)
    assert record is not None and record.status == "queued" and record.source == "queue"


async def test_a_sid_another_record_owns_is_not_shown_and_the_send_is_made_again(
    gateway: Gateway,
) -> None:
    sid = "SM" + "f" * 32
    await gateway.services.sids.claim(sid, "adopter-1")
    gateway.twilio.script(reply(201, {"sid": sid, "status": "queued", "to": SMS["to"]}))

    await run_worker(queue_message({**SMS, "id": "owned-1"}))

    record = await gateway.services.log.get("owned-1")
    assert record is not None and record.twilio_sid is None
    assert record.last_outcome == "not_sent"
    await run_worker(queue_message({**SMS, "id": "owned-1"}))
    again = await gateway.services.log.get("owned-1")
    assert again is not None and again.twilio_sid not in (None, sid)
