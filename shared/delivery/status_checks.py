"""Recovery for records whose status callbacks never come.

Callbacks get lost (the app was down, ``PUBLIC_BASE_URL`` is not set, a proxy dropped them),
and a send whose result was lost may or may not have reached Twilio. So every send that is
not final leaves a delayed follow-up message on the outbound queue; when it comes up, the
record is asked about: already final, nothing more happens (one table read); otherwise
Twilio is asked (fetch by SID, or reconciliation when the SID is unknown) and, while the
record is still open, the next follow-up is left with a longer delay. Nothing scans the
table, and a record reaches a final status or, after ``MAX_CHECKS``, the documented give-up
``unknown`` (with a SID) or ``failed`` (no trace of a send at Twilio).

Follow-ups that fall due together travel together: the sends an instance finishes while one
follow-up is being queued share the next queue message (``ids``), so a busy worker pays a
queue message per batch of sends, not per send, and the check of a batch costs one message.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from shared.delivery.pacing import paced
from shared.delivery.services import Services
from shared.domain.outbound import ID_PATTERN, OutboundRequest, parse_request
from shared.domain.records import LogRecord, utcnow
from shared.domain.status import is_terminal
from shared.domain.transitions import (
    IN_FLIGHT,
    failed,
    lease_ends,
    possibly_sent,
    reopened,
    status_unknown,
    twilio_status,
)
from shared.platform import logs
from shared.platform.errors import InvalidRequestError
from shared.platform.group_commit import GroupCommit

if TYPE_CHECKING:
    from shared.twilio.sender import PermanentSendError

CHECK_KIND = "status_check"
MAX_DELAY_SECONDS = 3600.0
MAX_CHECKS = 60
# A check message stays far below the queue's 64 KiB with this many 64-character ids.
MAX_IDS_PER_MESSAGE = 100


@dataclass(frozen=True)
class StatusCheck:
    """A follow-up; ``request`` travels along when the SID is unknown, for reconciliation."""

    id: str
    attempt: int
    request: OutboundRequest | None = None


def is_check(document: object) -> bool:
    return isinstance(document, dict) and document.get("kind") == CHECK_KIND


def parse_checks(document: dict[str, object]) -> list[StatusCheck]:
    """One check per record: ``id`` (with its ``request``, if any) or ``ids``."""
    attempt = document.get("attempt", 1)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise InvalidRequestError(
            "invalid_attempt", "'attempt' must be a positive integer", "attempt"
        )
    if "ids" not in document:
        return [_one_check(document, attempt)]
    ids = document["ids"]
    if "id" in document or "request" in document:
        raise InvalidRequestError(
            "invalid_ids", "a status check has either 'id' (and 'request') or 'ids'", "ids"
        )
    records = ids if isinstance(ids, list) and 0 < len(ids) <= MAX_IDS_PER_MESSAGE else []
    valid = [i for i in records if isinstance(i, str) and ID_PATTERN.fullmatch(i)]
    if not valid or len(valid) != len(records):
        raise InvalidRequestError(
            "invalid_ids", f"'ids' must be 1-{MAX_IDS_PER_MESSAGE} record ids", "ids"
        )
    return [StatusCheck(record_id, attempt) for record_id in dict.fromkeys(valid)]


def _one_check(document: dict[str, object], attempt: int) -> StatusCheck:
    record_id = document.get("id")
    if not isinstance(record_id, str) or not ID_PATTERN.fullmatch(record_id):
        raise InvalidRequestError("invalid_id", "a status check needs the record's 'id'", "id")
    request = document.get("request")
    if request is None:
        return StatusCheck(record_id, attempt)
    parsed = parse_request(
        request, default_id=record_id, schedule_limits=False, local_callbacks=True
    )
    return StatusCheck(record_id, attempt, parsed)


def delay_before(attempt: int, first: float) -> float:
    return min(first * 2.0 ** min(attempt - 1, 30), MAX_DELAY_SECONDS)


async def schedule(
    services: Services, record_id: str, attempt: int = 1, request: OutboundRequest | None = None
) -> None:
    """Returns once the check is on the queue (with others of the same attempt, if any)."""
    if request is None:
        batch = services.check_batches.get(attempt)
        if batch is None:
            flush = partial(_put_checks, services, attempt)
            batch = services.check_batches[attempt] = GroupCommit(flush, MAX_IDS_PER_MESSAGE)
        await batch.add(record_id)
        return
    check: dict[str, object] = {"kind": CHECK_KIND, "id": record_id, "attempt": attempt}
    check["request"] = replace(request, logged_as=None).to_document()
    await _put(services, check, attempt)


async def _put_checks(services: Services, attempt: int, ids: list[str]) -> None:
    ids = list(dict.fromkeys(ids))
    check: dict[str, object] = {"kind": CHECK_KIND, "attempt": attempt}
    check.update({"id": ids[0]} if len(ids) == 1 else {"ids": ids})
    await _put(services, check, attempt)


async def _put(services: Services, check: dict[str, object], attempt: int) -> None:
    delay = delay_before(attempt, services.settings.status_check_seconds)
    document = json.dumps(check, ensure_ascii=False)
    await services.queue.send_message(document, visibility_timeout=int(delay), time_to_live=-1)


async def schedule_if_open(services: Services, record: LogRecord | None, attempt: int) -> None:
    if record is not None and not is_terminal(record.status_rank):
        await schedule(services, record.id, attempt)


async def run_all(services: Services, checks: list[StatusCheck]) -> None:
    """Each record on its own, then every next check at once (one message, mostly). A check
    that fails is left again as the next attempt, so ``MAX_CHECKS`` bounds it, rather than
    failing the message: a redelivery would check the others twice and start second chains
    of checks."""
    results = await asyncio.gather(*(run(services, c) for c in checks), return_exceptions=True)
    following: list[StatusCheck] = []
    for check, result in zip(checks, results, strict=True):
        if isinstance(result, Exception):
            logs.warning(
                "status_check_failed", id=check.id, attempt=check.attempt, reason=repr(result)
            )
            if check.attempt < MAX_CHECKS:
                following.append(replace(check, attempt=check.attempt + 1))
            else:
                await _last_check_failed(services, check, result)
        elif isinstance(result, BaseException):
            raise result
        elif result is not None:
            following.append(result)
    await asyncio.gather(*(schedule(services, c.id, c.attempt, c.request) for c in following))


async def _last_check_failed(services: Services, check: StatusCheck, error: Exception) -> None:
    """The last check could not even run: the record ends with the checks' give-up, if it
    can be written; the log line says so either way."""
    message = f"no final status after {MAX_CHECKS} checks; the last failed: {error!r}"
    try:
        record = await services.log.get(check.id)
        if record is not None and not is_terminal(record.status_rank):
            end = status_unknown(message) if record.twilio_sid else failed(None, message)
            await services.log.update(record.id, end, record)
    except Exception as exc:  # noqa: BLE001 - logged: nothing more can be done for it
        logs.error("status_check_give_up_not_recorded", id=check.id, error=type(exc).__name__)
    logs.error("status_check_gave_up", id=check.id, reason=repr(error))


async def run(services: Services, check: StatusCheck) -> StatusCheck | None:
    """One record's check; returns the next one to leave, if the record is still open.

    A record whose send is in flight without a SID yet (the worker is still writing it)
    is checked again later, until its lease ends: then the queue message's own redelivery
    reconciles it, and leaves the chain of checks of what it finds.
    """
    record = await services.log.get(check.id)
    if record is None or is_terminal(record.status_rank):
        return None
    if record.twilio_sid:
        return await _ask_twilio(services, record, check)
    if possibly_sent(record) and check.request is not None:
        return await _find_lost_send(services, record, check, check.request)
    lease = timedelta(seconds=services.settings.send_lease_seconds)
    if record.last_outcome == IN_FLIGHT and utcnow() < lease_ends(record, lease):
        return await _again_or_give_up(services, record, check)
    return None


def _twilio_does_not_know(exc: PermanentSendError) -> bool:
    """Only a 404 (20404) says Twilio has no such SID; a 401/403 says nothing about it."""
    return exc.http_status == 404 or exc.code == 20404


async def _ask_twilio(
    services: Services, record: LogRecord, check: StatusCheck
) -> StatusCheck | None:
    from shared.twilio.sender import PermanentSendError, TransientSendError

    assert record.twilio_sid is not None
    fetch = partial(services.sender().fetch, record.kind, record.twilio_sid)
    try:
        found = await paced(services.pacing, fetch)
    except TransientSendError as exc:
        logs.warning("status_check_failed", id=record.id, attempt=check.attempt, reason=exc.reason)
        return await _again_or_give_up(services, record, check)
    except PermanentSendError as exc:
        if not _twilio_does_not_know(exc):
            logs.error(
                "status_check_refused",
                id=record.id,
                attempt=check.attempt,
                status=exc.http_status,
                code=exc.code,
            )
            return await _again_or_give_up(services, record, check)
        message = f"Twilio does not know {record.twilio_sid}: {exc.message}"
        await services.log.update(record.id, status_unknown(message), record)
        logs.error("status_check_unknown_sid", id=record.id, sid=record.twilio_sid)
        return None
    written = await services.log.update(
        record.id,
        twilio_status(
            found.status,
            sid=found.sid,
            error_code=found.error_code,
            error_message=found.error_message,
            note=f"status check {check.attempt}",
        ),
        record,
    )
    now = written[0] if written else record
    if is_terminal(now.status_rank):
        return None
    return await _again_or_give_up(services, now, check)


async def _find_lost_send(
    services: Services, record: LogRecord, check: StatusCheck, request: OutboundRequest
) -> StatusCheck | None:
    from shared.delivery.reconcile import Verdict, reconcile
    from shared.twilio.sender import PermanentSendError, TransientSendError

    lease = timedelta(seconds=services.settings.send_lease_seconds)
    if utcnow() < lease_ends(record, lease):
        return await _again_or_give_up(services, record, check)
    try:
        verdict, adopted = await reconcile(services, request, record)
    except (TransientSendError, PermanentSendError) as exc:
        logs.warning("status_check_failed", id=record.id, attempt=check.attempt, reason=str(exc))
        return await _again_or_give_up(services, record, check)
    if verdict is Verdict.ADOPTED:
        if adopted is None or is_terminal(adopted.status_rank):
            return None
        return StatusCheck(adopted.id, check.attempt + 1)
    if verdict is Verdict.UNDECIDED:
        return await _again_or_give_up(services, record, check)
    reason = f"gave up after {record.attempts} attempts; no trace of it at Twilio"
    await services.log.update(record.id, failed(None, reason), record)
    logs.warning("send_given_up", id=record.id, attempts=record.attempts)
    # ``failed`` here is a belief. A callback with a SID that landed while this check
    # decided has reopened the record: read once more to follow it; one that lands later
    # leaves its own check (``follow_if_reopened``).
    again = await services.log.get(record.id)
    if again is not None and reopened(again):
        return await _again_or_give_up(services, again, check)
    return None


async def follow_if_reopened(services: Services, record_id: str) -> None:
    """After a callback for a SID the gateway had not recorded: when it reopened a record
    the checks had ended ``failed``, that record gets a chain of checks again."""
    record = await services.log.get(record_id)
    if record is not None and reopened(record):
        logs.info("status_check_for_reopened", id=record_id, sid=record.twilio_sid)
        await schedule(services, record_id, 1)


async def _again_or_give_up(
    services: Services, record: LogRecord, check: StatusCheck
) -> StatusCheck | None:
    if check.attempt < MAX_CHECKS:
        return StatusCheck(record.id, check.attempt + 1, check.request)
    message = f"no final status from Twilio after {MAX_CHECKS} checks; last: {record.status}"
    await services.log.update(record.id, status_unknown(message), record)
    logs.error("status_check_gave_up", id=record.id, status=record.status)
    return None
