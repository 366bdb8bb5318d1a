"""The queue worker: at least once in, exactly once out.

A queue message can arrive more than once (host retries, redelivery after a crash, two
producers). Before every send the worker claims the id in the log with an ETag-guarded
write; a record that already has a Twilio SID is finished; an attempt that may have reached
Twilio is reconciled against Twilio's own records before anything is sent again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from pathlib import Path

import azure.functions as func

from shared import logs
from shared.message_log import LogRecord, RecordExistsError, utcnow
from shared.outbound import ID_PATTERN, InvalidRequestError, OutboundRequest, parse_request
from shared.queue_codec import decode_queue_text
from shared.send_api import enqueue
from shared.services import Services, get_services
from shared.status import KINDS
from shared.transitions import (
    SendPlan,
    attempt_failed,
    claim,
    failed,
    new_outbound_record,
    note,
    plan_send,
    rejected_record,
    twilio_status,
)

HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
DEFAULT_MAX_DEQUEUE_COUNT = 5
OPTED_OUT_CODE = 21610
SCHEDULE_TOLERANCE = timedelta(seconds=5)


class SendInProgressError(Exception):
    """Another invocation holds a fresh claim on this id; retry after it settles."""


class RetryableSendError(Exception):
    """A transient failure, raised so the Functions host makes the message visible again."""


@cache
def max_dequeue_count(path: Path = HOST_JSON) -> int:
    """From ``host.json``, the one place the host's own retry limit is set (read once, on
    the first queue message, so no function's import pays for it)."""
    try:
        queues = json.loads(path.read_text())["extensions"]["queues"]
        return int(queues.get("maxDequeueCount", DEFAULT_MAX_DEQUEUE_COUNT))
    except (OSError, KeyError, ValueError, TypeError):
        logs.warning("host_json_unreadable", path=str(path), using=DEFAULT_MAX_DEQUEUE_COUNT)
        return DEFAULT_MAX_DEQUEUE_COUNT


async def process(msg: func.QueueMessage) -> None:
    services = await get_services()
    dequeue_count = msg.dequeue_count or 1
    document: object = None
    try:
        document = decode_queue_text(msg.get_body())
        request = parse_request(document)
    except InvalidRequestError as exc:
        await _reject(services, msg, document if isinstance(document, dict) else {}, exc)
        return
    if request.send_at and request.send_at - utcnow() > SCHEDULE_TOLERANCE:
        await enqueue(services, request)
        logs.info("send_deferred", id=request.id, send_at=request.send_at.isoformat())
        return
    record = await _ensure_record(services, request)
    if record is None:
        return
    last_attempt = dequeue_count >= max_dequeue_count()
    try:
        await _send(services, request, record, dequeue_count, last_attempt)
    except RetryableSendError:
        raise
    except Exception as exc:
        if last_attempt:
            reason = f"gave up after {dequeue_count} attempts: {type(exc).__name__}: {exc}"
            await services.log.update(request.id, failed(None, reason))
        raise


async def _reject(
    services: Services,
    msg: func.QueueMessage,
    document: dict[str, object],
    error: InvalidRequestError,
) -> None:
    """Record an invalid message as ``rejected`` and let it go: retrying cannot fix it.

    It is logged under its own id when it has a usable one, else under the queue's id.
    """
    candidate, kind, to = document.get("id"), document.get("kind"), document.get("to")
    usable = isinstance(candidate, str) and ID_PATTERN.match(candidate)
    record_id = str(candidate) if usable else str(msg.id or "unknown")
    record, event = rejected_record(
        record_id,
        str(kind) if kind in KINDS else "unknown",
        to if isinstance(to, str) else "",
        error.code,
        error.message,
    )
    try:
        await services.log.create(record, event)
    except RecordExistsError:
        await services.log.add_event(record_id, event)
    logs.warning("queue_message_rejected", id=record_id, code=error.code, reason=error.message)


async def _ensure_record(services: Services, request: OutboundRequest) -> LogRecord | None:
    """The API logged it already; a message from another service is logged here first."""
    record = await services.log.get(request.id)
    if record is None:
        new, event = new_outbound_record(
            request, source="queue", store_bodies=services.settings.log_message_bodies
        )
        try:
            record = await services.log.create(new, event)
        except RecordExistsError:
            logs.info("record_created_concurrently", id=request.id)
            record = await services.log.get(request.id)
        if record is None:
            raise RetryableSendError(f"record {request.id} vanished after create")
    if record.request_hash != request.fingerprint() or record.kind != request.kind:
        await services.log.update(
            request.id, note("duplicate_id", "a different request reused this id; not sent")
        )
        logs.error("queue_message_id_clash", id=request.id)
        return None
    return record


async def _send(
    services: Services,
    request: OutboundRequest,
    record: LogRecord,
    dequeue_count: int,
    last_attempt: bool,
) -> None:
    lease = timedelta(seconds=services.settings.send_lease_seconds)
    plan = plan_send(record, utcnow(), lease)
    if plan is SendPlan.DONE:
        logs.info("send_skipped_already_done", id=request.id, status=record.status)
        return
    if plan is SendPlan.WAIT:
        raise SendInProgressError(f"{request.id} is being sent by another invocation")
    sender = services.sender()
    if plan is SendPlan.RECONCILE:
        since = record.claimed_at or record.created_at
        found = await sender.find_sent(request, since)
        if found is not None:
            await services.log.update(
                request.id,
                twilio_status(
                    found.status,
                    sid=found.sid,
                    from_=found.from_,
                    note="found at Twilio on reconcile",
                ),
            )
            logs.info("send_reconciled", id=request.id, sid=found.sid)
            return
    if request.kind == "sms" and await services.opt_outs.is_opted_out(request.to):
        await services.log.update(
            request.id, failed(OPTED_OUT_CODE, "the recipient has opted out (STOP); not sent")
        )
        logs.info("send_refused_opted_out", id=request.id, to=request.to)
        return
    claimed = await services.log.update(request.id, claim(record, utcnow()), record)
    if claimed is None or claimed[1] is None:
        raise SendInProgressError(f"{request.id} changed while claiming; retrying")
    await _call_twilio(services, request, claimed[0], dequeue_count, last_attempt)


async def _call_twilio(
    services: Services,
    request: OutboundRequest,
    claimed: LogRecord,
    dequeue_count: int,
    last_attempt: bool,
) -> None:
    from shared.twilio_sender import PermanentSendError, TransientSendError

    try:
        result = await services.sender().send(request)
    except PermanentSendError as exc:
        await services.log.update(request.id, failed(exc.code, exc.message), claimed)
        logs.warning("send_failed_permanently", id=request.id, code=exc.code, to=request.to)
        return
    except TransientSendError as exc:
        if last_attempt:
            reason = f"gave up after {dequeue_count} attempts: {exc}"
            await services.log.update(request.id, failed(exc.code, reason), claimed)
        else:
            decide = attempt_failed(exc.reason, ambiguous=exc.ambiguous, code=exc.code)
            await services.log.update(request.id, decide, claimed)
        logs.warning(
            "send_failed_transiently", id=request.id, attempt=dequeue_count, reason=exc.reason
        )
        raise RetryableSendError(exc.reason) from exc
    decide = twilio_status(result.status, sid=result.sid, outcome="sent", from_=result.from_)
    await services.log.update(request.id, decide, claimed)
    logs.info("sent", id=request.id, sid=result.sid, status=result.status, to=request.to)
