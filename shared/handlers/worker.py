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
import os
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

import azure.functions as func

from shared.delivery import status_checks
from shared.delivery.enqueue import enqueue
from shared.delivery.pacing import paced
from shared.delivery.reconcile import Verdict, reconcile
from shared.delivery.services import Services, get_services
from shared.domain.callback_url import require_callback_secret
from shared.domain.event_envelope import unwrap
from shared.domain.outbound import ID_PATTERN, OutboundRequest, parse_request
from shared.domain.records import Change, LogRecord, utcnow, with_event
from shared.domain.status import KINDS, UnknownStatusError, is_terminal, twilio_rank
from shared.domain.transitions import (
    GIVEN_UP,
    SENT,
    UNCHECKED,
    SendPlan,
    attempt_failed,
    checked,
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

if TYPE_CHECKING:
    from shared.twilio.sender import TransientSendError

HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"
DEQUEUE_OVERRIDE = "AzureFunctionsJobHost__extensions__queues__maxDequeueCount"
DEFAULT_MAX_DEQUEUE_COUNT = 5
OPTED_OUT_CODE = 21610
SCHEDULE_TOLERANCE = timedelta(seconds=5)
PLANS = 2


class RetryableSendError(Exception):
    """Processing could not finish (the record kept changing, or vanished): raised so the
    Functions host makes the message visible again. Twilio being unreachable is never
    this: that is a wait (``_wait_for_twilio``)."""


@cache
def max_dequeue_count(path: Path = HOST_JSON) -> int:
    """The host's own retry limit: the app setting that overrides ``host.json`` (how
    operators change it without a redeploy), else ``host.json``; read once, on the first
    queue message, so no function's import pays for it."""
    override = os.environ.get(DEQUEUE_OVERRIDE, "").strip()
    if override:
        try:
            if int(override) >= 1:
                return int(override)
        except ValueError:
            pass
        logs.error("setting_invalid", setting=DEQUEUE_OVERRIDE, problem="not a positive integer")
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
            document,
            default_id=event_id or msg.id,
            schedule_limits=False,
            from_queue=True,
            local_callbacks=services.settings.local_stack,
        )
        events = services.settings.events
        require_callback_secret(request.callback_url, bool(events.callback_secrets))
    except InvalidRequestError as exc:
        await _reject(services, msg, document if isinstance(document, dict) else {}, exc)
        return
    try:
        await _deliver(services, request)
    except Exception as exc:
        if (msg.dequeue_count or 1) >= max_dequeue_count():
            reason = f"gave up after {msg.dequeue_count} deliveries: {type(exc).__name__}: {exc}"
            await _last_words(services, request, reason)
        raise


async def _deliver(services: Services, request: OutboundRequest) -> None:
    if request.send_at and request.send_at - utcnow() > SCHEDULE_TOLERANCE:
        await enqueue(services, request)
        logs.info("send_deferred", id=request.id, send_at=request.send_at.isoformat())
        return
    record = _as_logged(services, request) or await _ensure_record(services, request)
    if record is not None:
        await _send(services, request, record)


async def _last_words(services: Services, request: OutboundRequest, reason: str) -> None:
    """The host is about to poison the message because processing itself kept failing: the
    record says so (or, if the send may have reached Twilio, the status checks decide).
    When even that cannot be written, the log line is all that is left."""
    try:
        await _give_up(services, request, None, reason, ambiguous=True)
    except Exception as exc:  # noqa: BLE001 - the message is going to poison either way
        logs.error("give_up_not_recorded", id=request.id, reason=reason, error=type(exc).__name__)


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


async def _send(services: Services, request: OutboundRequest, record: LogRecord) -> None:
    """Plan, claim, call Twilio. A claim lost to a change of the record (another delivery,
    a stale note from the API) plans again with the record as it is now."""
    for _ in range(PLANS):
        claimed = await _plan_and_claim(services, request, record)
        if claimed is None:
            return
        record, change = claimed
        if change is not None:
            await _call_twilio(services, request, record)
            return
    raise RetryableSendError(f"{request.id} kept changing while claiming; retrying")


async def _plan_and_claim(
    services: Services, request: OutboundRequest, record: LogRecord
) -> tuple[LogRecord, Change | None] | None:
    """The claimed record, or the record that changed under the claim; None: nothing to send."""
    from shared.twilio.sender import PermanentSendError, TransientSendError

    lease = timedelta(seconds=services.settings.send_lease_seconds)
    plan = plan_send(record, utcnow(), lease)
    if plan is SendPlan.DONE:
        logs.info("send_skipped_already_done", id=request.id, status=record.status)
        if record.twilio_sid and record.last_outcome != SENT:
            # The SID came without a check known to be on the queue (the check could not be
            # queued, or the SID was adopted or folded from a callback by an invocation that
            # died): this delivery leaves it, once. A record whose send left its check
            # (``SENT``) starts no second chain on a redelivery.
            await status_checks.schedule_if_open(services, record, 1)
            await services.log.update(request.id, checked(), record)
        return None
    if plan is SendPlan.WAIT:
        await _defer(services, request, lease_ends(record, lease), "claim_in_lease")
        return None
    if plan is SendPlan.RECONCILE:
        try:
            verdict, adopted = await reconcile(services, request, record)
        except (TransientSendError, PermanentSendError) as exc:
            # A list API that refuses (an API key without read access, credentials being
            # rotated) cannot decide either: the send waits, it is never resent blind.
            await _wait_for_twilio(services, request, record, _as_wait(exc), reconciling=True)
            return None
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


def _as_wait(exc: Exception) -> TransientSendError:
    from shared.twilio.sender import PermanentSendError, TransientSendError

    if isinstance(exc, PermanentSendError):
        reason = f"Twilio refused the lookup ({exc.http_status}): {exc.message}"
        return TransientSendError(reason, ambiguous=True, code=exc.code)
    assert isinstance(exc, TransientSendError)
    return exc


async def _wait_for_twilio(
    services: Services,
    request: OutboundRequest,
    record: LogRecord,
    exc: TransientSendError,
    *,
    reconciling: bool = False,
) -> None:
    """Twilio did not take this try (or could not be asked about the last one): wait with
    backoff on the queue, never on the host's dequeue count; past the retry budget, give
    up (``failed`` with Twilio's last code, or the status checks when it may have sent)."""
    policy = services.retry
    now = utcnow()
    if policy.spent(record, now):
        hours = policy.budget.total_seconds() / 3600
        reason = (
            f"gave up after {record.attempts} attempts over {hours:g} h: "
            f"Twilio kept refusing or could not be reached; last: {exc.reason}"
        )
        await _give_up(services, request, exc.code, reason, exc.ambiguous or reconciling, record)
        return
    until = now + timedelta(seconds=policy.delay(record.waits, exc.retry_after))
    if exc.ambiguous and not reconciling:
        # A send that may have reached Twilio is reconciled, and only after its lease.
        lease = timedelta(seconds=services.settings.send_lease_seconds)
        until = max(until, lease_ends(record, lease))
    ambiguous = None if reconciling else exc.ambiguous
    decide = attempt_failed(exc.reason, ambiguous=ambiguous, code=exc.code, retry_at=until)
    await services.log.update(request.id, decide, record)
    await _defer(services, request, until, "twilio_reconcile" if reconciling else "twilio_refused")


async def _call_twilio(services: Services, request: OutboundRequest, claimed: LogRecord) -> None:
    from shared.twilio.sender import PermanentSendError, TransientSendError

    try:
        result = await paced(services.pacing, partial(services.sender().send, request))
    except PermanentSendError as exc:
        await services.log.update(request.id, failed(exc.code, exc.message), claimed)
        logs.warning("send_failed_permanently", id=request.id, code=exc.code, to=request.to)
        return
    except TransientSendError as exc:
        logs.warning(
            "send_failed_transiently", id=request.id, attempt=claimed.attempts, reason=exc.reason
        )
        await _wait_for_twilio(services, request, claimed, exc)
        return
    # The owner row goes before the SID is on the record; the check is independent of both.
    owner, checked_later = await asyncio.gather(
        services.sids.claim(result.sid, request.id),
        _check_later(services, request, result.status),
        return_exceptions=True,
    )
    if isinstance(owner, BaseException):
        raise owner
    if owner != request.id:
        await _disowned(services, request, claimed, result.sid, owner)
        return
    outcome = UNCHECKED if isinstance(checked_later, BaseException) else SENT
    decide = twilio_status(result.status, sid=result.sid, outcome=outcome, from_=result.from_)
    await services.log.update(request.id, decide, claimed)
    logs.info("sent", id=request.id, sid=result.sid, status=result.status, to=request.to)
    if isinstance(checked_later, BaseException):
        raise checked_later


async def _disowned(
    services: Services, request: OutboundRequest, claimed: LogRecord, sid: str, owner: str
) -> None:
    """Another record adopted this send's SID first (its reconciliation matched it): the
    owner row decides, so the SID is that record's and this one has not been sent. It is
    sent again, as any send Twilio did not take for it."""
    logs.error("sid_claimed_by_another_record", id=request.id, sid=sid, owner=owner)
    reason = f"Twilio's {sid} was adopted by record {owner}; sending this one again"
    decide = attempt_failed(reason, ambiguous=False, code=None)
    if await services.log.update(request.id, decide, claimed) is not None:
        await _defer(services, request, utcnow(), "sid_owned_elsewhere")


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
