"""Recovery for records whose status callbacks never come.

Callbacks get lost (the app was down, ``PUBLIC_BASE_URL`` is not set, a proxy dropped them),
and a send whose result was lost may or may not have reached Twilio. So every send that is
not final leaves a delayed follow-up message on the outbound queue; when it comes up, the
record is asked about: already final, nothing more happens (one table read); otherwise
Twilio is asked (fetch by SID, or reconciliation when the SID is unknown) and, while the
record is still open, the next follow-up is left with a longer delay. Nothing scans the
table, and a record reaches a final status or, after ``MAX_CHECKS``, the documented give-up
``unknown`` (with a SID) or ``failed`` (no trace of a send at Twilio).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from shared import logs
from shared.message_log import LogRecord, utcnow
from shared.outbound import ID_PATTERN, InvalidRequestError, OutboundRequest, parse_request
from shared.services import Services
from shared.status import is_terminal
from shared.transitions import failed, lease_ends, possibly_sent, status_unknown, twilio_status

CHECK_KIND = "status_check"
MAX_DELAY_SECONDS = 3600.0
MAX_CHECKS = 60


@dataclass(frozen=True)
class StatusCheck:
    """A follow-up; ``request`` travels along when the SID is unknown, for reconciliation."""

    id: str
    attempt: int
    request: OutboundRequest | None = None


def is_check(document: object) -> bool:
    return isinstance(document, dict) and document.get("kind") == CHECK_KIND


def parse_check(document: dict[str, object]) -> StatusCheck:
    record_id, attempt = document.get("id"), document.get("attempt", 1)
    if not isinstance(record_id, str) or not ID_PATTERN.fullmatch(record_id):
        raise InvalidRequestError("invalid_id", "a status check needs the record's 'id'", "id")
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise InvalidRequestError(
            "invalid_attempt", "'attempt' must be a positive integer", "attempt"
        )
    request = document.get("request")
    if request is None:
        return StatusCheck(record_id, attempt)
    parsed = parse_request(request, default_id=record_id, schedule_limits=False)
    return StatusCheck(record_id, attempt, parsed)


def delay_before(attempt: int, first: float) -> float:
    return min(first * 2.0 ** min(attempt - 1, 30), MAX_DELAY_SECONDS)


async def schedule(
    services: Services, record_id: str, attempt: int = 1, request: OutboundRequest | None = None
) -> None:
    delay = delay_before(attempt, services.settings.status_check_seconds)
    check: dict[str, object] = {"kind": CHECK_KIND, "id": record_id, "attempt": attempt}
    if request is not None:
        check["request"] = request.to_document()
    document = json.dumps(check, ensure_ascii=False)
    await services.queue.send_message(document, visibility_timeout=int(delay), time_to_live=-1)


async def schedule_if_open(services: Services, record: LogRecord | None, attempt: int) -> None:
    if record is not None and not is_terminal(record.status_rank):
        await schedule(services, record.id, attempt)


async def run(services: Services, check: StatusCheck) -> None:
    record = await services.log.get(check.id)
    if record is None or is_terminal(record.status_rank):
        return
    if record.twilio_sid:
        await _ask_twilio(services, record, check)
    elif possibly_sent(record) and check.request is not None:
        await _find_lost_send(services, record, check, check.request)


async def _ask_twilio(services: Services, record: LogRecord, check: StatusCheck) -> None:
    from shared.twilio_sender import PermanentSendError, TransientSendError

    assert record.twilio_sid is not None
    try:
        found = await services.sender().fetch(record.kind, record.twilio_sid)
    except TransientSendError as exc:
        logs.warning("status_check_failed", id=record.id, attempt=check.attempt, reason=exc.reason)
        await _again_or_give_up(services, record, check)
        return
    except PermanentSendError as exc:
        message = f"Twilio does not know {record.twilio_sid}: {exc.message}"
        await services.log.update(record.id, status_unknown(message), record)
        logs.error("status_check_unknown_sid", id=record.id, sid=record.twilio_sid)
        return
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
    if not is_terminal(now.status_rank):
        await _again_or_give_up(services, now, check)


async def _find_lost_send(
    services: Services, record: LogRecord, check: StatusCheck, request: OutboundRequest
) -> None:
    from shared.reconcile import Verdict, reconcile
    from shared.twilio_sender import TransientSendError

    lease = timedelta(seconds=services.settings.send_lease_seconds)
    if utcnow() < lease_ends(record, lease):
        await _again_or_give_up(services, record, check)
        return
    try:
        verdict, adopted = await reconcile(services, request, record)
    except TransientSendError as exc:
        logs.warning("status_check_failed", id=record.id, attempt=check.attempt, reason=exc.reason)
        await _again_or_give_up(services, record, check)
        return
    if verdict is Verdict.ADOPTED:
        await schedule_if_open(services, adopted, check.attempt + 1)
    elif verdict is Verdict.UNDECIDED:
        await _again_or_give_up(services, record, check)
    else:
        reason = f"gave up after {record.attempts} attempts; no trace of it at Twilio"
        await services.log.update(record.id, failed(None, reason), record)
        logs.warning("send_given_up", id=record.id, attempts=record.attempts)


async def _again_or_give_up(services: Services, record: LogRecord, check: StatusCheck) -> None:
    if check.attempt < MAX_CHECKS:
        await schedule(services, record.id, check.attempt + 1, check.request)
        return
    message = f"no final status from Twilio after {MAX_CHECKS} checks; last: {record.status}"
    await services.log.update(record.id, status_unknown(message), record)
    logs.error("status_check_gave_up", id=record.id, status=record.status)
