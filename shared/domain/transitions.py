"""How the log's records move: pure decisions, written by ``MessageLog.update`` with ETags.

Keeping the rules free of I/O means the worker, the status callback and the tests all apply
exactly the same forward-only logic.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from shared.domain.outbound import OutboundRequest
from shared.domain.records import Change, LogEvent, LogRecord, utcnow
from shared.domain.status import (
    ACCEPTED,
    CLAIM_STATUS,
    FAILED,
    REJECTED,
    TERMINAL_RANK,
    UNKNOWN,
    WITHDRAWN,
    Kind,
    UnknownStatusError,
    gateway_rank,
    is_terminal,
    twilio_rank,
)

GATEWAY = "gateway"
TWILIO = "twilio"

IN_FLIGHT = "in_flight"
NOT_SENT = "not_sent"
AMBIGUOUS = "ambiguous"
# Out of attempts, but maybe sent: only the status checks may decide, never a redelivery.
GIVEN_UP = "given_up"
SENT = "sent"
# Sent, but its first status check could not be queued: the next delivery leaves it.
UNCHECKED = "sent_unchecked"

Decider = Callable[[LogRecord], Change | None]


class SendPlan(enum.Enum):
    SEND = "send"
    RECONCILE = "reconcile"
    WAIT = "wait"
    DONE = "done"


def new_outbound_record(
    request: OutboundRequest, *, source: str, store_bodies: bool, now: datetime | None = None
) -> tuple[LogRecord, LogEvent]:
    now = now or utcnow()
    content: dict[str, object] = {}
    if request.body is not None:
        if store_bodies:
            content["body"] = request.body
        else:
            content["body_length"] = len(request.body)
            content["body_sha256"] = hashlib.sha256(request.body.encode()).hexdigest()
    if request.media_urls:
        content["media_urls"] = json.dumps(list(request.media_urls))
    if store_bodies:
        content.update(say=request.say, twiml=request.twiml)
    record = LogRecord(
        id=request.id,
        kind=request.kind,
        status=ACCEPTED,
        status_rank=gateway_rank(request.kind, ACCEPTED),
        to=request.to,
        from_=request.from_,
        url=request.url,
        tag=request.tag,
        send_at=request.send_at,
        traceparent=request.traceparent,
        callback_url=request.callback_url,
        callback_events=json.dumps(list(request.callback_events))
        if request.callback_events
        else None,
        request_hash=request.fingerprint(),
        source=source,
        created_at=now,
        updated_at=now,
        **content,  # type: ignore[arg-type]
    )
    return record, LogEvent(ACCEPTED, GATEWAY, at=now, note=f"accepted from {source}")


def rejected_record(
    record_id: str, kind: str, to: str, code: str, message: str
) -> tuple[LogRecord, LogEvent]:
    now = utcnow()
    record = LogRecord(
        id=record_id,
        kind=kind,
        status=REJECTED,
        status_rank=TERMINAL_RANK,
        to=to,
        source="queue",
        error_message=f"{code}: {message}",
        created_at=now,
        updated_at=now,
    )
    return record, LogEvent(REJECTED, GATEWAY, at=now, error_message=record.error_message)


def inbound_record(
    sid: str, kind: Kind, status: str, to: str, from_: str, body: str | None, store_bodies: bool
) -> tuple[LogRecord, LogEvent]:
    now = utcnow()
    content: dict[str, object] = {}
    if body is not None:
        if store_bodies:
            content["body"] = body
        else:
            content["body_length"] = len(body)
            content["body_sha256"] = hashlib.sha256(body.encode()).hexdigest()
    record = LogRecord(
        id=sid,
        kind=kind,
        direction="inbound",
        source=TWILIO,
        status=status,
        status_rank=twilio_rank(kind, status),
        to=to,
        from_=from_,
        twilio_sid=sid,
        created_at=now,
        updated_at=now,
        **content,  # type: ignore[arg-type]
    )
    return record, LogEvent(status, TWILIO, at=now, twilio_sid=sid)


def plan_send(record: LogRecord, now: datetime, lease: timedelta) -> SendPlan:
    """What a (re)delivered queue message may do, given what the log already knows.

    A claim that may have reached Twilio is left alone for the whole lease, ambiguous or
    not: a request that timed out on our side can still be created at Twilio a little later,
    and only after the lease can its absence from Twilio's records be trusted.
    """
    kind: Kind = "call" if record.kind == "call" else "sms"
    if record.twilio_sid or is_terminal(record.status_rank):
        return SendPlan.DONE
    if record.status == ACCEPTED and record.status_rank == 0:
        return SendPlan.SEND
    if record.status != CLAIM_STATUS[kind] or record.status_rank != 1:
        return SendPlan.DONE
    if record.last_outcome == NOT_SENT:
        return SendPlan.SEND
    if record.last_outcome == GIVEN_UP:
        return SendPlan.DONE
    return SendPlan.RECONCILE if now >= lease_ends(record, lease) else SendPlan.WAIT


def lease_ends(record: LogRecord, lease: timedelta) -> datetime:
    return (record.claimed_at or record.updated_at) + lease


def claim(expected: LogRecord, now: datetime) -> Decider:
    """Take the send for this attempt, only if nobody changed the record since it was planned."""

    def decide(record: LogRecord) -> Change | None:
        if record.etag != expected.etag:
            return None
        status = CLAIM_STATUS["call" if record.kind == "call" else "sms"]
        attempts = record.attempts + 1
        return Change(
            LogEvent(status, GATEWAY, at=now, note=f"attempt {attempts}"),
            {
                "status": status,
                "status_rank": 1,
                "attempts": attempts,
                "claimed_at": now,
                "last_outcome": IN_FLIGHT,
                "next_attempt_at": None,
                "updated_at": now,
            },
        )

    return decide


def twilio_status(
    status: str,
    *,
    sid: str | None,
    error_code: int | None = None,
    error_message: str | None = None,
    outcome: str | None = None,
    note: str | None = None,
    from_: str | None = None,
    at: datetime | None = None,
) -> Decider:
    """Twilio's word on a record (send result or callback): forward only, history always.

    A record owns one SID: news about another SID is history, never the record's status.
    ``at`` is when Twilio's word arrived, if not now (a callback row folded on read).
    """

    def decide(record: LogRecord) -> Change:
        kind: Kind = "call" if record.kind == "call" else "sms"
        now = at or utcnow()
        event = LogEvent(
            status,
            TWILIO,
            at=now,
            twilio_sid=sid,
            error_code=error_code,
            error_message=error_message,
            note=note,
        )
        rank = twilio_rank(kind, status)
        if sid and record.twilio_sid and sid != record.twilio_sid:
            return Change(event)
        summary: dict[str, object] = {}
        if sid and not record.twilio_sid:
            summary["twilio_sid"] = sid
        if from_ and not record.from_:
            summary["from_"] = from_
        if outcome:
            summary["last_outcome"] = outcome
        if rank > record.status_rank or _reached_twilio_after_all(record, sid):
            summary.update(status=status, status_rank=rank)
            summary.update(error_code=error_code, error_message=error_message)
        if summary:
            summary["updated_at"] = now
        return Change(event, summary)

    return decide


def fold_callback(record: LogRecord, event: LogEvent, inbound_only: bool) -> LogRecord:
    """A status callback's row applied on read (``MessageLog``): the same rule as any other
    word from Twilio. A status that is not one of this kind's is history only, as is a row
    that may only move an inbound record when this one is not."""
    if inbound_only and record.direction != "inbound":
        return record
    decide = twilio_status(
        event.status,
        sid=event.twilio_sid,
        error_code=event.error_code,
        error_message=event.error_message,
        at=event.at,
    )
    try:
        change = decide(record)
    except UnknownStatusError:
        return record
    if change is None or not change.summary:
        return record
    return replace(record, **change.summary)


def _reached_twilio_after_all(record: LogRecord, sid: str | None) -> bool:
    """The gateway gave up on an attempt that Twilio had in fact accepted: a SID is proof,
    so Twilio's status replaces the gateway's ``failed``, which was only a belief."""
    return bool(sid) and not record.twilio_sid and record.status == FAILED


def reopened(record: LogRecord) -> bool:
    """The gateway ended the record ``failed`` (no trace at Twilio), and Twilio's word with
    a SID has since put it back in flight: no status check follows it any more."""
    return (
        record.last_outcome == FAILED
        and bool(record.twilio_sid)
        and not is_terminal(record.status_rank)
    )


def failed(code: int | None, message: str) -> Decider:
    """The gateway gives up on a record (permanent error, opted out, out of attempts)."""

    def decide(record: LogRecord) -> Change:
        now = utcnow()
        event = LogEvent(FAILED, GATEWAY, at=now, error_code=code, error_message=message)
        if is_terminal(record.status_rank) or record.twilio_sid:
            return Change(event)
        summary: dict[str, object] = {
            "status": FAILED,
            "status_rank": TERMINAL_RANK,
            "error_message": message,
            "last_outcome": FAILED,
            "updated_at": now,
        }
        if code is not None:
            summary["error_code"] = code
        return Change(event, summary)

    return decide


def attempt_failed(
    reason: str,
    *,
    ambiguous: bool | None,
    code: int | None,
    retry_at: datetime | None = None,
) -> Decider:
    """A try that Twilio did not take (refused, unreachable, or a reconcile that could not
    run): the record stays claimed, says what the next try must check (``ambiguous``; None:
    as before) and, with ``retry_at``, when that try is due. The first wait starts the
    retry budget."""

    def decide(record: LogRecord) -> Change:
        now = utcnow()
        note = f"attempt {record.attempts} did not reach Twilio; will retry"
        if retry_at is not None:
            note += f" at {retry_at.isoformat(timespec='seconds')}"
        event = LogEvent(
            "retrying", GATEWAY, at=now, error_code=code, error_message=reason, note=note
        )
        if record.twilio_sid or is_terminal(record.status_rank):
            return Change(event)
        summary: dict[str, object] = {"updated_at": now}
        if ambiguous is not None:
            summary["last_outcome"] = AMBIGUOUS if ambiguous else NOT_SENT
        if retry_at is not None:
            summary.update(waits=record.waits + 1, next_attempt_at=retry_at)
            summary["retrying_since"] = record.retrying_since or now
            summary.update(error_code=code, error_message=reason)
        return Change(event, summary)

    return decide


def possibly_sent(record: LogRecord) -> bool:
    """A claim whose Twilio call may have gone through: only Twilio's records can tell."""
    return (
        not record.twilio_sid
        and record.status_rank == 1
        and record.last_outcome in (IN_FLIGHT, AMBIGUOUS, GIVEN_UP)
    )


def withdraw(expected: LogRecord, reason: str) -> Decider:
    """Take back an accept whose enqueue failed, unless a worker has touched it since: then
    it is on its way and the caller is told so."""

    def decide(record: LogRecord) -> Change | None:
        if record.etag != expected.etag or record.status != ACCEPTED:
            return None
        now = utcnow()
        event = LogEvent(WITHDRAWN, GATEWAY, at=now, error_message=reason)
        summary = {"status": WITHDRAWN, "status_rank": TERMINAL_RANK, "updated_at": now}
        return Change(event, {**summary, "error_message": reason})

    return decide


def revive() -> Decider:
    """A retry with the same Idempotency-Key brings a withdrawn request back: nothing of it
    was ever sent, so going back to ``accepted`` breaks no promise."""

    def decide(record: LogRecord) -> Change | None:
        if record.status != WITHDRAWN:
            return None
        now = utcnow()
        event = LogEvent(ACCEPTED, GATEWAY, at=now, note="accepted again on a retry")
        summary = {"status": ACCEPTED, "status_rank": 0, "error_message": None}
        return Change(event, {**summary, "updated_at": now})

    return decide


def give_up(code: int | None, reason: str) -> Decider:
    """The retries are spent. A send that may have reached Twilio stays open for the status
    checks, which alone can tell sent from not sent; any other is ``failed``."""
    fail = failed(code, reason)

    def decide(record: LogRecord) -> Change | None:
        if not possibly_sent(record):
            return fail(record)
        now = utcnow()
        event = LogEvent("checking", GATEWAY, at=now, error_message=reason)
        return Change(event, {"last_outcome": GIVEN_UP, "updated_at": now})

    return decide


def status_unknown(message: str) -> Decider:
    """The documented give-up of the status checks: Twilio never gave a final status."""

    def decide(record: LogRecord) -> Change:
        now = utcnow()
        event = LogEvent(UNKNOWN, GATEWAY, at=now, error_message=message)
        if is_terminal(record.status_rank):
            return Change(event)
        summary = {"status": UNKNOWN, "status_rank": TERMINAL_RANK, "error_message": message}
        return Change(event, {**summary, "last_outcome": UNKNOWN, "updated_at": now})

    return decide


def checked() -> Decider:
    """A record with a SID has its status check on the queue now: ``SENT``, so that a
    redelivery starts no second chain."""

    def decide(record: LogRecord) -> Change | None:
        if record.last_outcome == SENT or not record.twilio_sid:
            return None
        now = utcnow()
        event = LogEvent("checking", GATEWAY, at=now, note="status check left")
        return Change(event, {"last_outcome": SENT, "updated_at": now})

    return decide


def callback_gone(url: str, reason: str) -> Decider:
    """The record's ``callback_url`` answered 410 Gone: it gets none of its later events."""

    def decide(record: LogRecord) -> Change | None:
        if record.callback_url != url or record.callback_gone:
            return None
        now = utcnow()
        event = LogEvent("callback_gone", GATEWAY, at=now, note=reason[:200])
        return Change(event, {"callback_gone": True, "updated_at": now})

    return decide


def note(status: str, message: str) -> Decider:
    """History only: something worth knowing that does not move the record."""

    def decide(record: LogRecord) -> Change:
        return Change(LogEvent(status, GATEWAY, note=message))

    return decide
