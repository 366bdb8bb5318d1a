"""Bodies for less time than records: after ``BODY_RETENTION_DAYS`` a final record's body,
media URLs, ``say`` text, TwiML and recording URL are dropped; its status history stays.

Run by the retention timer, day by day through the index, as the purge is. A day is marked
done in the retention table once every record of it is final and redacted, so each run reads
only the days not done yet; a record still open keeps its day for the next run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shared.delivery.bounded import gather_bounded
from shared.delivery.retention import INDEXED_KINDS, cut_off
from shared.delivery.services import Services
from shared.domain.records import utcnow
from shared.domain.redaction import REDACTED, redact_content
from shared.domain.status import is_terminal
from shared.platform import logs


async def redact(services: Services, now: datetime | None = None) -> int:
    """Returns how many records had their content dropped."""
    days = services.settings.body_retention_days
    if days is None:
        return 0
    now = now or utcnow()
    before = cut_off(now, days)
    store = await services.retention()
    redacted = 0
    for kind in INDEXED_KINDS:
        oldest = await services.index.oldest_day(kind, before)
        if oldest is None:
            continue
        done = await store.done_days(REDACTED, kind, oldest, before)
        day = oldest
        while day < before:
            if day not in done:
                count, finished = await _redact_day(services, kind, day, now, days)
                redacted += count
                if finished:
                    await store.mark_done(REDACTED, kind, day)
            day += timedelta(days=1)
    logs.info("bodies_redacted", records=redacted, body_retention_days=days)
    return redacted


async def _redact_day(
    services: Services, kind: str, day: date, now: datetime, days: int
) -> tuple[int, bool]:
    ids = sorted({row.id for row in await services.index.day_rows(kind, day)})

    async def one(record_id: str) -> tuple[bool, bool]:
        record = await services.log.get(record_id)
        if record is None:
            return False, True
        written = await services.log.update(record_id, redact_content(now, days), record)
        changed = written is not None and written[1] is not None
        return changed, is_terminal(record.status_rank)

    results = await gather_bounded(one, ids)
    return sum(changed for changed, _ in results), all(final for _, final in results)
