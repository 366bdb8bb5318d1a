"""The retention purge: everything of a day older than ``RETENTION_DAYS`` goes, its counts stay.

It finds what to delete through the index, never the log: the oldest day partition of each
kind before the cut-off (one key range), then that day's index rows, then each record's own
partition by key. Its cost grows with what it deletes, not with the table.

Per day, in an order that makes any interruption harmless:

1. read the day's index rows and each record's rows;
2. keep the day's counts (kind, direction, final status, error code), once: the row is
   insert-only, so a second purge running at the same time, or a rerun that finds the day
   half deleted, keeps the first, complete count;
3. delete each record's owner rows and log rows (tombstones of erased records too);
4. delete the day's index rows, last: until then a rerun finds the day again and finishes it.

Deleting what is gone already is no error, so two purges at once only do the work twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from azure.data.tables import TableEntity

from shared.delivery import twilio_deletion
from shared.delivery.bounded import gather_bounded
from shared.delivery.services import Services
from shared.domain.records import SUMMARY, utcnow
from shared.platform import logs
from shared.storage.message_log import is_tombstone, sids_in
from shared.storage.retention_store import DayStats, StatsKey

# Rejected queue messages without a usable kind are indexed under "unknown".
INDEXED_KINDS = ("sms", "call", "unknown")
ERASED = "erased"
# Records read at once while planning a day; only what must be deleted is kept of them.
READ_CHUNK = 1000


@dataclass
class PurgeReport:
    days: int = 0
    records: int = 0
    stats_kept: int = 0
    twilio_owed: int = 0


def cut_off(now: datetime, retention_days: int) -> date:
    """Days before this one are purged: a record lives ``retention_days`` full days at least."""
    return (now - timedelta(days=retention_days)).date()


def _stats_key(services: Services, entities: list[TableEntity]) -> StatsKey | None:
    summary = next((e for e in entities if e["RowKey"] == SUMMARY), None)
    if summary is None:
        return None
    if is_tombstone(summary):
        return str(summary.get("direction", "")), ERASED, None
    record = services.log.record_of(entities)
    if record is None:
        return None
    return record.direction, record.status, record.error_code


async def purge(services: Services, now: datetime | None = None) -> PurgeReport:
    before = cut_off(now or utcnow(), services.settings.retention_days)
    report = PurgeReport()
    for kind in INDEXED_KINDS:
        previous: date | None = None
        while (day := await services.index.oldest_day(kind, before)) is not None:
            if day == previous:
                logs.error("purge_day_not_emptied", kind=kind, day=day.isoformat())
                break
            await purge_day(services, kind, day, report)
            previous = day
    logs.info(
        "retention_purged",
        days=report.days,
        records=report.records,
        stats_kept=report.stats_kept,
        twilio_owed=report.twilio_owed,
        retention_days=services.settings.retention_days,
    )
    return report


@dataclass(frozen=True)
class _Doomed:
    """What the purge must delete of one record, without the record itself: a day's worth
    of these stays small, whatever the records held."""

    record_id: str
    row_keys: list[str]
    sids: set[str]
    twilio: list[tuple[str, str]]
    stats_key: StatsKey | None


def _doomed(services: Services, entities: list[TableEntity]) -> _Doomed:
    twilio: list[tuple[str, str]] = []
    if services.settings.twilio_delete_on_purge:
        twilio = twilio_deletion.resources_of(services.log.record_of(entities), entities)
    return _Doomed(
        str(entities[0]["PartitionKey"]),
        [str(e["RowKey"]) for e in entities],
        sids_in(entities),
        twilio,
        _stats_key(services, entities),
    )


async def purge_day(services: Services, kind: str, day: date, report: PurgeReport) -> None:
    index_rows = await services.index.day_rows(kind, day)
    ids = sorted({row.id for row in index_rows})
    doomed: list[_Doomed] = []
    for start in range(0, len(ids), READ_CHUNK):
        partitions = await gather_bounded(services.log.rows, ids[start : start + READ_CHUNK])
        doomed += [_doomed(services, entities) for entities in partitions if entities]
    store = await services.retention()
    if not await store.has_stats(kind, day):
        counts = Counter(d.stats_key for d in doomed if d.stats_key is not None)
        if await store.keep_stats(DayStats(kind, day, counts)):
            report.stats_kept += 1
    owed = await gather_bounded(lambda d: _purge_record(services, d), doomed)
    report.twilio_owed += sum(owed)
    if index_rows:
        await services.index.delete(index_rows[0].partition, [row.row_key for row in index_rows])
    report.days += 1
    report.records += sum(1 for d in doomed if d.stats_key is not None)
    logs.info("retention_day_purged", kind=kind, day=day.isoformat(), records=len(doomed))


async def _purge_record(services: Services, doomed: _Doomed) -> int:
    owed = 0
    if doomed.twilio:
        owed = (await twilio_deletion.owe(services, doomed.twilio)).owed
    await services.sids.release(doomed.sids)
    await services.log.delete_rows(doomed.record_id, doomed.row_keys)
    return owed
