"""Recovery of records whose callbacks never came, through the queue worker and Azurite."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from shared.delivery import status_checks
from shared.domain.outbound import parse_request
from shared.domain.records import LogEvent, utcnow
from shared.domain.transitions import claim, new_outbound_record
from tests.integration.conftest import Gateway
from tests.integration.test_webhooks import SMS_SID, call, status_callback
from tests.integration.test_worker import (
    SMS,
    claim_long_ago,
    listed_message,
    run_worker,
    status_of,
)
from tests.support.fake_twilio import reply, twilio_error
from tests.support.requests import trigger_message
from tests.support.spies import calls_to, first_arguments

pytestmark = pytest.mark.integration

SID = "SM" + "e" * 32


def check(record_id: str, attempt: int = 1, **extra: object) -> bytes:
    document = {"kind": status_checks.CHECK_KIND, "id": record_id, "attempt": attempt, **extra}
    return json.dumps(document).encode()


def sid_of(record_id: str) -> str:
    """Each record's own SID: a SID belongs to one record only."""
    return "SM" + hashlib.sha256(record_id.encode()).hexdigest()[:32]


async def sent(gateway: Gateway, record_id: str, sid: str = SID) -> None:
    gateway.twilio.script(reply(201, {"sid": sid, "status": "queued", "to": SMS["to"]}))
    await run_worker(trigger_message("m", json.dumps({**SMS, "id": record_id}).encode()))


async def pending_checks(gateway: Gateway) -> int:
    properties = await gateway.queue.get_queue_properties()
    return properties.approximate_message_count or 0


async def test_a_send_that_is_not_final_leaves_a_status_check(gateway: Gateway) -> None:
    await sent(gateway, "chk-1")

    assert await pending_checks(gateway) == 1
    assert await gateway.queued_messages() == []  # hidden until the check is due


async def test_status_check_asks_twilio_and_records_the_final_status(gateway: Gateway) -> None:
    await sent(gateway, "chk-2")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "delivered"}))

    await run_worker(trigger_message("c", check("chk-2")))

    record = await gateway.services.log.get("chk-2")
    assert record is not None and record.status == "delivered"
    assert gateway.twilio.requests[-1].path.endswith(f"/Messages/{SID}.json")
    assert await pending_checks(gateway) == 1  # only the first check, left by the send


async def test_status_check_of_an_open_record_leaves_the_next_one(gateway: Gateway) -> None:
    await sent(gateway, "chk-3")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "sent"}))

    await run_worker(trigger_message("c", check("chk-3")))

    assert await pending_checks(gateway) == 2
    record = await gateway.services.log.get("chk-3")
    assert record is not None and record.status == "sent"


async def test_status_check_of_a_final_record_asks_nobody(gateway: Gateway) -> None:
    await sent(gateway, "chk-4")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "delivered"}))
    await run_worker(trigger_message("c", check("chk-4")))
    calls = len(gateway.twilio.requests)

    await run_worker(trigger_message("c", check("chk-4", 2)))

    assert len(gateway.twilio.requests) == calls


async def test_twilio_unavailable_during_a_check_tries_again_later(gateway: Gateway) -> None:
    await sent(gateway, "chk-5")
    gateway.twilio.script(twilio_error(503, 20503, "Service Unavailable"))

    await run_worker(trigger_message("c", check("chk-5")))

    assert await pending_checks(gateway) == 2


async def test_last_status_check_gives_up_as_unknown(gateway: Gateway) -> None:
    await sent(gateway, "chk-6")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "sent"}))

    await run_worker(trigger_message("c", check("chk-6", status_checks.MAX_CHECKS)))

    record = await gateway.services.log.get("chk-6")
    assert record is not None and record.status == "unknown"
    assert record.error_message is not None and "no final status" in record.error_message


async def test_check_of_a_lost_send_adopts_what_twilio_has(gateway: Gateway) -> None:
    await claim_long_ago(gateway, "lost-1")
    gateway.twilio.listed = [listed_message(SID, age=timedelta(minutes=5))]

    await run_worker(trigger_message("c", check("lost-1", request={**SMS, "id": "lost-1"})))

    record = await gateway.services.log.get("lost-1")
    assert record is not None and record.twilio_sid == SID and record.status == "sent"
    assert gateway.twilio.creates == []
    assert await pending_checks(gateway) == 1


async def test_check_of_a_lost_send_waits_while_a_match_is_young(gateway: Gateway) -> None:
    await claim_long_ago(gateway, "lost-2")
    gateway.twilio.listed = [listed_message(SID, age=timedelta(0))]

    await run_worker(trigger_message("c", check("lost-2", request={**SMS, "id": "lost-2"})))

    record = await gateway.services.log.get("lost-2")
    assert record is not None and record.twilio_sid is None and record.status == "sending"
    assert await pending_checks(gateway) == 1


async def test_check_of_a_lost_send_not_at_twilio_records_failed(gateway: Gateway) -> None:
    await claim_long_ago(gateway, "lost-3")

    await run_worker(trigger_message("c", check("lost-3", request={**SMS, "id": "lost-3"})))

    record = await gateway.services.log.get("lost-3")
    assert record is not None and record.status == "failed"
    assert gateway.twilio.creates == []


def checks(record_ids: list[str], attempt: int = 1) -> bytes:
    document = {"kind": status_checks.CHECK_KIND, "ids": record_ids, "attempt": attempt}
    return json.dumps(document).encode()


async def test_checks_left_at_the_same_time_share_one_queue_message(gateway: Gateway) -> None:
    ids = ["together-1", "together-2", "together-3"]

    await asyncio.gather(*(status_checks.schedule(gateway.services, i) for i in ids))

    assert await pending_checks(gateway) == 1


async def test_one_check_message_checks_each_of_its_records(gateway: Gateway) -> None:
    for record_id in ("many-1", "many-2"):
        await sent(gateway, record_id, sid_of(record_id))
    gateway.twilio.resources = {
        sid_of(i): {"sid": sid_of(i), "status": "delivered"} for i in ("many-1", "many-2")
    }

    await run_worker(trigger_message("c", checks(["many-1", "many-2"])))

    for record_id in ("many-1", "many-2"):
        record = await gateway.services.log.get(record_id)
        assert record is not None and record.status == "delivered"
    assert await pending_checks(gateway) == 2  # the two left by the sends


async def test_the_open_records_of_one_check_message_share_their_next_check(
    gateway: Gateway,
) -> None:
    for record_id in ("open-1", "open-2"):
        await sent(gateway, record_id, sid_of(record_id))
    gateway.twilio.resources = {
        sid_of(i): {"sid": sid_of(i), "status": "sent"} for i in ("open-1", "open-2")
    }

    await run_worker(trigger_message("c", checks(["open-1", "open-2"])))

    assert await pending_checks(gateway) == 3


async def test_a_check_that_keeps_failing_ends_at_the_last_attempt(gateway: Gateway) -> None:
    await sent(gateway, "fail-1")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "no-such-status"}))

    await run_worker(trigger_message("c", check("fail-1", status_checks.MAX_CHECKS)))

    record = await gateway.services.log.get("fail-1")
    assert record is not None and record.status == "unknown"
    assert await pending_checks(gateway) == 1  # only the one the send left


async def test_a_check_that_fails_is_left_again_as_the_next_attempt(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sent(gateway, "fail-2")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "no-such-status"}))
    put = first_arguments(gateway.queue, "send_message", monkeypatch)

    await run_worker(trigger_message("c", check("fail-2", 3)))

    (document,) = [json.loads(text) for text in put]
    assert document["attempt"] == 4


async def test_a_lost_send_whose_list_api_refuses_ends_at_the_last_attempt(
    gateway: Gateway,
) -> None:
    await claim_long_ago(gateway, "lost-4")
    gateway.twilio.script(twilio_error(403, 20003, "Authenticate"))
    request = {**SMS, "id": "lost-4"}

    await run_worker(
        trigger_message("c", check("lost-4", status_checks.MAX_CHECKS, request=request))
    )

    record = await gateway.services.log.get("lost-4")
    assert record is not None and record.status == "unknown"
    assert gateway.twilio.creates == []


async def test_a_403_on_a_status_fetch_leaves_the_record_open_for_the_next_check(
    gateway: Gateway,
) -> None:
    await sent(gateway, "auth-1")
    gateway.twilio.script(twilio_error(403, 20003, "Authenticate"))

    await run_worker(trigger_message("c", check("auth-1")))

    record = await gateway.services.log.get("auth-1")
    assert record is not None and record.status == "queued"
    assert await pending_checks(gateway) == 2


async def test_a_404_on_a_status_fetch_means_twilio_does_not_know_the_sid(
    gateway: Gateway,
) -> None:
    await sent(gateway, "gone-1")
    gateway.twilio.script(twilio_error(404, 20404, "The requested resource was not found"))

    await run_worker(trigger_message("c", check("gone-1")))

    record = await gateway.services.log.get("gone-1")
    assert record is not None and record.status == "unknown"


async def test_a_check_before_the_sid_is_written_comes_back_later(gateway: Gateway) -> None:
    request = parse_request({**SMS, "id": "early-1"})
    await gateway.services.log.create(
        *new_outbound_record(request, source="queue", store_bodies=True)
    )
    record = await gateway.services.log.get("early-1")
    assert record is not None
    await gateway.services.log.update("early-1", claim(record, utcnow()))

    await run_worker(trigger_message("c", check("early-1")))

    assert await pending_checks(gateway) == 1


async def test_one_check_message_asks_about_a_repeated_id_once(gateway: Gateway) -> None:
    await sent(gateway, "dup-1")
    gateway.twilio.script(reply(200, {"sid": SID, "status": "sent"}))
    fetches = len(gateway.twilio.requests)

    await run_worker(trigger_message("c", checks(["dup-1", "dup-1"])))

    assert len(gateway.twilio.requests) == fetches + 1


async def test_a_redelivery_of_a_sent_message_starts_no_second_chain(gateway: Gateway) -> None:
    await sent(gateway, "chain-1")

    await run_worker(trigger_message("m", json.dumps({**SMS, "id": "chain-1"}).encode(), 2))

    assert await pending_checks(gateway) == 1


async def failed_for_no_trace(gateway: Gateway, record_id: str) -> None:
    await claim_long_ago(gateway, record_id)
    await run_worker(trigger_message("c", check(record_id, request={**SMS, "id": record_id})))
    assert await status_of(gateway, record_id) == "failed"


async def test_a_record_failed_for_no_trace_leaves_no_further_check(gateway: Gateway) -> None:
    await failed_for_no_trace(gateway, "late-1")

    assert await pending_checks(gateway) == 0


async def test_a_late_callback_that_reopens_a_failed_record_leaves_a_check(
    gateway: Gateway,
) -> None:
    await failed_for_no_trace(gateway, "late-2")
    assert await pending_checks(gateway) == 0

    reply_to_twilio = await call("twilio_status", status_callback("late-2", "sent"))

    assert reply_to_twilio.status_code == 200
    assert await status_of(gateway, "late-2") == "sent"
    assert await pending_checks(gateway) == 1
    gateway.twilio.script(reply(200, {"sid": SMS_SID, "status": "delivered"}))
    await run_worker(trigger_message("c", check("late-2")))
    assert await status_of(gateway, "late-2") == "delivered"


async def test_a_callback_that_lands_while_a_check_gives_up_is_followed_by_that_check(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await claim_long_ago(gateway, "late-3")
    log = gateway.services.log
    give_up = log.update

    async def callback_lands_first(*args: Any, **kwargs: Any) -> Any:
        callback = LogEvent("sent", "twilio", twilio_sid=SID)
        await log.add_callback("late-3", callback, False, "landed-meanwhile")
        return await give_up(*args, **kwargs)

    monkeypatch.setattr(log, "update", callback_lands_first)
    await run_worker(trigger_message("c", check("late-3", request={**SMS, "id": "late-3"})))

    assert await status_of(gateway, "late-3") == "sent"
    assert await pending_checks(gateway) == 1


async def test_a_callback_for_a_recorded_send_reads_nothing_to_look_for_a_reopen(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sent(gateway, "late-4", SMS_SID)
    await gateway.reload()  # another instance: the owner row is read, not remembered
    reads = calls_to(gateway.services.log._table, ("query_entities",), monkeypatch)

    await call("twilio_status", status_callback("late-4", "sent"))

    assert reads == []
