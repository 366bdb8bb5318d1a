"""After a send that may or may not have reached Twilio: find it in Twilio's records.

Twilio keeps no reference of ours on a message or call, so a lost send is matched by
recipient, sender, body (sms) and creation time. A match is adopted only when the SID's
ownership row can be written for this record, so a SID never belongs to two records; and
only once the match is old enough that its own sender, if it is another record, would have
written that row already.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from functools import partial

from shared.delivery.pacing import paced
from shared.delivery.services import Services
from shared.domain.outbound import OutboundRequest
from shared.domain.records import LogRecord, utcnow
from shared.domain.transitions import twilio_status
from shared.platform import logs


class Verdict(enum.Enum):
    ADOPTED = "adopted"
    NOT_FOUND = "not_found"
    UNDECIDED = "undecided"


async def reconcile(
    services: Services, request: OutboundRequest, record: LogRecord
) -> tuple[Verdict, LogRecord | None]:
    """Returns the verdict and, when a send was adopted, the record as written."""
    since = record.claimed_at or record.created_at
    find = partial(services.sender().find_candidates, request, since)
    candidates = await paced(services.pacing, find)
    settle = timedelta(seconds=services.settings.settle_seconds)
    now = utcnow()
    undecided = False
    for candidate in sorted(candidates, key=lambda found: found.created or now):
        if candidate.created is not None and now - candidate.created < settle:
            undecided = True
            continue
        owner = await services.sids.claim(candidate.sid, request.id)
        if owner != request.id:
            logs.info("reconcile_skipped_owned_sid", id=request.id, sid=candidate.sid, owner=owner)
            continue
        decide = twilio_status(
            candidate.status,
            sid=candidate.sid,
            from_=candidate.from_,
            error_code=candidate.error_code,
            error_message=candidate.error_message,
            note="found at Twilio on reconcile",
        )
        written = await services.log.update(request.id, decide, record)
        logs.info("send_reconciled", id=request.id, sid=candidate.sid)
        return Verdict.ADOPTED, written[0] if written else None
    return (Verdict.UNDECIDED if undecided else Verdict.NOT_FOUND), None
