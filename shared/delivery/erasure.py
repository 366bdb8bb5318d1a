"""Erasing a number: every record to or from it, found through the index's number rows.

The number rows are keyed by the number's keyed hash, so each day partition still indexed
answers with that number's rows alone (a key prefix): no table is scanned, and the cost
grows with the days kept and the records erased.

Per record, in an order that a rerun after a crash completes:

1. read its rows; delete its index rows for its other numbers (known from the summary,
   which is about to go);
2. at Twilio too, when ``TWILIO_DELETE_ON_ERASURE`` says so (what is not final yet is owed);
3. replace the summary with a tombstone (``erased``, no personal data): the id stays taken,
   so a retry of the request it was is never sent, and any writer holding the old ETag fails;
   and delete its other rows (history, callbacks) in the same transaction;
4. delete its SID owner rows;
5. once every record of the day is done, delete the number rows that found them, together.

The time row stays without any number on it, so the retention purge removes the tombstone
with its day. The number's opt-out, keyed by its hash, stays: a STOP is still honoured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.delivery import twilio_deletion
from shared.delivery.bounded import gather_bounded
from shared.delivery.retention import INDEXED_KINDS
from shared.delivery.services import Services
from shared.domain.records import SUMMARY, utcnow
from shared.platform import logs
from shared.storage.message_index import NUMBER_ROW_PREFIX, IndexRow
from shared.storage.message_log import sids_in


@dataclass
class ErasureReport:
    records: int = 0
    twilio: twilio_deletion.TwilioDeletions = field(default_factory=twilio_deletion.TwilioDeletions)

    def as_json(self) -> dict[str, object]:
        return {
            "erased": self.records,
            "twilio": {"deleted": self.twilio.deleted, "pending": self.twilio.owed},
        }


async def _days(services: Services, today: date) -> list[tuple[str, date]]:
    days: list[tuple[str, date]] = []
    for kind in INDEXED_KINDS:
        day = await services.index.oldest_day(kind, today + timedelta(days=1))
        while day is not None and day <= today:
            days.append((kind, day))
            day += timedelta(days=1)
    return days


async def erase_number(services: Services, number: str, today: date | None = None) -> ErasureReport:
    days = await _days(services, today or utcnow().date())
    found = await gather_bounded(lambda kd: services.index.number_rows(kd[0], kd[1], number), days)
    report = ErasureReport()
    for rows in found:
        for erased, deletions in await gather_bounded(lambda row: _erase(services, row), rows):
            report.records += erased
            report.twilio.add(deletions)
        # The rows that found them go last, together: a rerun finds what is not erased yet.
        if rows:
            await services.index.delete(rows[0].partition, [row.row_key for row in rows])
    await services.opt_outs.forget_number(number)
    logs.info(
        "number_erased",
        records=report.records,
        days_read=len(days),
        twilio_deleted=report.twilio.deleted,
        twilio_owed=report.twilio.owed,
    )
    return report


async def _erase(services: Services, row: IndexRow) -> tuple[int, twilio_deletion.TwilioDeletions]:
    entities = await services.log.rows(row.id)
    record = services.log.record_of(entities)
    deletions = twilio_deletion.TwilioDeletions()
    rest = [str(e["RowKey"]) for e in entities if e["RowKey"] != SUMMARY]
    if record is not None:
        others = [
            key
            for key in services.index.row_keys_of(record)
            if key != row.row_key and key.startswith(NUMBER_ROW_PREFIX)
        ]
        await services.index.delete(row.partition, others)
        if services.settings.twilio_delete_on_erasure:
            resources = twilio_deletion.resources_of(record, entities)
            deletions = await twilio_deletion.delete_now(services, resources)
        await services.log.bury(row.id, record.kind, record.direction, rest)
    else:
        await services.log.delete_rows(row.id, rest)
    await services.sids.release(sids_in(entities))
    return (1 if record is not None else 0), deletions
