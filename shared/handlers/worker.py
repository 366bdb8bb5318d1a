"""The queue worker: at least once in, exactly once out.

A queue message can arrive more than once (host retries, redelivery after a crash, two
producers). Before every send the worker claims the id in the log with an ETag-guarded
write; a record that already has a Twilio SID is finished; an attempt that may have reached
Twilio is reconciled against Twilio's own records, once its lease is over, before anything
is sent again. Waiting never spends the host's retries: the message is put back on the queue
with a delay instead. A send that is not final leaves a status check behind
(``status_checks``), so a record whose callbacks are lost still reaches a final status.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import azure.functions as func

from shared.delivery import status_checks
from shared.delivery.enqueue import enqueue
from shared.delivery.reconcile import Verdict, reconcile
from shared.delivery.services import Services, get_services
from shared.domain.event_envelope import unwrap
from shared.domain.outbound import ID_PATTERN, OutboundRequest, parse_request
from shared.domain.records import Change, LogRecord, utcnow, with_event
from shared.domain.status import KINDS, UnknownStatusError, is_terminal, twilio_rank
from shared.domain.transitions import (
    GIVEN_UP,
    SendPlan,
    attempt_failed,
    claim,
    failed,
    give_up,
    lease_ends,
    new_outbound_record,
    note,
    plan_send,
    rejected_record,
    twilio_status,
)
from shared.platform import logs
from shared.platform.errors import InvalidRequestError
from shared.platform.queue_codec import decode_queue_text
from shared.platform.settings import E164
from shared.storage.message_log import RecordExistsError

HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"
DEFAULT_MAX_DEQUEUE_COUNT = 5
OPTED_OUT_CODE = 21610
SCHEDULE_TOLERANCE = timedelta(seconds=5)
PLANS = 2


class RetryableSendError(Exception):
    """A transient failure, raised so the Functions host makes the message visible again."""


@dataclass(frozen=True)
class Attempt:
    """Which send of the record this is, and whether it is the last one.

    Sends are counted by the record's claims, not the queue's dequeue count: a message that
    waited on the queue (``_defer``) comes back as a new message, with a new count.
    """

    number: int
    last: bool


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
    document: object = None
    try:
        document = decode_queue_text(msg.get_body())
        if status_checks.is_check(document):
            assert isinstance(document, dict)
            await status_checks.run_all(services, status_checks.parse_checks(document))
            return
        document, event_id = unwrap(document)
        request = parse_request(
            document, default_id=event_id or msg.id, schedule_limits=False, from_queue=True
        )
    except InvalidRequestError as exc:
        await _reject(services, msg, document if isinstance(document, dict) else {}, exc)
        return
    if request.send_at and request.send_at - utcnow() > SCHEDULE_TOLERANCE:
        await enqueue(services, request)
        logs.info("send_deferred", id=request.id, send_at=request.send_at.isoformat())
        return
    record = _as_logged(services, request) or await _ensure_record(services, request)
    if record is None:
        return
    host_gives_up = (msg.dequeue_count or 1) >= max_dequeue_count()
    try:
        await _send(services, request, record, host_gives_up)
    except RetryableSendError:
        raise
    except Exception as exc:
        if host_gives_up:
            reason = f"gave up after {msg.dequeue_count} deliveries: {type(exc).__name__}: {exc}"
            await _give_up(services, request, None, reason, ambiguous=True)
        raise


async def _reject(
    services: Services,
    msg: func.QueueMessage,
    document: dict[str, object],
    error: InvalidRequestError,
) -> None:
    """Record an invalid message as ``rejected`` and let it go: retrying cannot fix it.

    It is logged under its own id when it has a usable one, else under the queue's id, and
    keeps only fields that are valid (kind ``unknown`` when there is none: readable on both
    status routes), so that storing the refusal cannot fail on the input that caused it.
    """
    candidate, kind, to = document.get("id"), document.get("kind"), document.get("to")
    usable = isinstance(candidate, str) and ID_PATTERN.fullmatch(candidate)
    record_id = str(candidate) if usable else str(msg.id or "unknown")
    record, event = rejected_record(
        record_id,
        str(kind) if kind in KINDS else "unknown",
        to if isinstance(to, str) and E164.fullmatch(to) else "",
        error.code,
        error.message,
    )
    try:
        await services.index.add(await services.log.create(record, event))
    except RecordExistsError:
        await services.log.add_event(record_id, event)
    logs.warning("queue_message_rejected", id=record_id, code=error.code, reason=error.message)


def _as_logged(services: Services, request: OutboundRequest) -> LogRecord | None:
    """The record exactly as the API inserted it, rebuilt from the API's note instead of
    read: its ETag still guards the claim, so if anything moved it since, the claim fails
    and the worker reads the record and plans again."""
    if request.logged_as is None:
        return None
    record, event = new_outbound_record(
        request,
        source="api",
        store_bodies=services.settings.log_message_bodies,
        now=request.logged_as.at,
    )
    return replace(with_event(record, event), etag=request.logged_as.etag)


async def _ensure_record(services: Services, request: OutboundRequest) -> LogRecord | None:
    """The API logged it already; a message from another service is logged here first."""
    record = await services.log.get(request.id)
    if record is None:
        new, event = new_outbound_record(
            request, source="queue", store_bodies=services.settings.log_message_bodies
        )
        try:
            record = await services.log.create(new, event)
            await services.index.add(record)
        except RecordExistsError:
            logs.info("record_created_concurrently", id=request.id)
            record = await services.log.get(request.id)
        if record is None and await services.log.is_erased(request.id):
            logs.info("send_skipped_erased", id=request.id)
            return None
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
    services: Services, request: OutboundRequest, record: LogRecord, host_gives_up: bool
) -> None:
    """Plan, claim, call Twilio. A claim lost to a change of the record (another delivery,
    a stale note from the API) plans again with the record as it is now."""
    for _ in range(PLANS):
        claimed = await _plan_and_claim(services, request, record)
        if claimed is None:
            return
        record, change = claimed
        if change is not None:
            attempt = Attempt(
                record.attempts,
                last=host_gives_up or record.attempts >= max_dequeue_count(),
            )
            await _call_twilio(services, request, record, attempt)
            return
    raise RetryableSendError(f"{request.id} kept changing while claiming; retrying")


async def _plan_and_claim(
    services: Services, request: OutboundRequest, record: LogRecord
) -> tuple[LogRecord, Change | None] | None:
    """The claimed record, or the record that changed under the claim; None: nothing to send."""
    from shared.twilio.sender import TransientSendError

    lease = timedelta(seconds=services.settings.send_lease_seconds)
    plan = plan_send(record, utcnow(), lease)
    if plan is SendPlan.DONE:
        logs.info("send_skipped_already_done", id=request.id, status=record.status)
        if record.twilio_sid:
            # The invocation that recorded the SID may have died before leaving its check.
            await status_checks.schedule_if_open(services, record, 1)
        return None
    if plan is SendPlan.WAIT:
        await _defer(services, request, lease_ends(record, lease), "claim_in_lease")
        return None
    if plan is SendPlan.RECONCILE:
        try:
            verdict, adopted = await reconcile(services, request, record)
        except TransientSendError as exc:
            raise RetryableSendError(f"cannot reconcile: {exc.reason}") from exc
        if verdict is Verdict.ADOPTED:
            await status_checks.schedule_if_open(services, adopted, 1)
            return None
        if verdict is Verdict.UNDECIDED:
            settle = timedelta(seconds=services.settings.settle_seconds)
            await _defer(services, request, utcnow() + settle, "reconcile_unsettled")
            return None
    if request.kind == "sms" and await services.opt_outs.is_opted_out(request.to):
        await services.log.update(
            request.id, failed(OPTED_OUT_CODE, "the recipient has opted out (STOP); not sent")
        )
        logs.info("send_refused_opted_out", id=request.id, to=request.to)
        return None
    claimed = await services.log.update(request.id, claim(record, utcnow()), record)
    if claimed is None:
        # Gone since the API logged it (a table emptied by hand): logged again, then planned.
        logged = await _ensure_record(services, request)
        return None if logged is None else (logged, None)
    return claimed


async def _defer(services: Services, request: OutboundRequest, until: datetime, why: str) -> None:
    """Come back later without spending one of the host's retries on waiting (and without
    the API's note: the record has moved since)."""
    delay = max((until - utcnow()).total_seconds(), 0.0) + 1.0
    await enqueue(services, replace(request, logged_as=None), delay=delay)
    logs.info("send_deferred", id=request.id, reason=why, seconds=round(delay))


async def _call_twilio(
    services: Services, request: OutboundRequest, claimed: LogRecord, attempt: Attempt
) -> None:
    from shared.twilio.sender import PermanentSendError, TransientSendError

    try:
        result = await services.sender().send(request)
    except PermanentSendError as exc:
        await services.log.update(request.id, failed(exc.code, exc.message), claimed)
        logs.warning("send_failed_permanently", id=request.id, code=exc.code, to=request.to)
        return
    except TransientSendError as exc:
        logs.warning(
            "send_failed_transiently", id=request.id, attempt=attempt.number, reason=exc.reason
        )
        if attempt.last:
            reason = f"gave up after {attempt.number} attempts: {exc}"
            await _give_up(services, request, exc.code, reason, exc.ambiguous, claimed)
            return
        decide = attempt_failed(exc.reason, ambiguous=exc.ambiguous, code=exc.code)
        await services.log.update(request.id, decide, claimed)
        raise RetryableSendError(exc.reason) from exc
    # The owner row goes before the SID is on the record; the check is independent of both.
    owner, checked = await asyncio.gather(
        services.sids.claim(result.sid, request.id),
        _check_later(services, request, result.status),
        return_exceptions=True,
    )
    if isinstance(owner, BaseException):
        raise owner
    if owner != request.id:
        logs.error("sid_claimed_by_another_record", id=request.id, sid=result.sid, owner=owner)
    decide = twilio_status(result.status, sid=result.sid, outcome="sent", from_=result.from_)
    await services.log.update(request.id, decide, claimed)
    logs.info("sent", id=request.id, sid=result.sid, status=result.status, to=request.to)
    if isinstance(checked, BaseException):
        raise checked


async def _check_later(services: Services, request: OutboundRequest, status: str) -> None:
    """The status check of a send Twilio has taken, unless its answer is already final."""
    try:
        final = is_terminal(twilio_rank(request.kind, status))
    except UnknownStatusError:
        final = False
    if not final:
        await status_checks.schedule(services, request.id, 1)


async def _give_up(
    services: Services,
    request: OutboundRequest,
    code: int | None,
    reason: str,
    ambiguous: bool,
    current: LogRecord | None = None,
) -> None:
    """The retries are spent: ``failed``, unless the send may have reached Twilio; then the
    status checks reconcile before deciding."""
    decide = give_up(code, reason) if ambiguous else failed(code, reason)
    written = await services.log.update(request.id, decide, current)
    if written is not None and written[0].last_outcome == GIVEN_UP:
        await status_checks.schedule(services, request.id, 1, request)
