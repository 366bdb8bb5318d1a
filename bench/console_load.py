"""What the console's totals cost in storage: reads per load for 7 days of traffic, and the
statistics' write requests per SMS, against Azurite (requests counted as the SDK sends them).

The baseline is what totals without the statistics would read: every summary of the range.
Writes are shown for SMS one at a time (a quiet gateway: each status its own request) and
for many at once (a busy one: statuses of the same moment share one batch).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables.aio import TableServiceClient

from localdev.azurite import Azurite
from shared.storage.message_stats import MessageStats, StatusCount

DAYS = 7
SMS_PER_DAY = 300
UNDELIVERED_EVERY = 20
AT_ONCE = 50


class _Counter:
    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, request: Any) -> None:
        self.requests += 1


def _statuses(record_id: str, accepted: datetime, undelivered: bool) -> list[StatusCount]:
    final = "undelivered" if undelivered else "delivered"
    code = 30003 if undelivered else None
    return [
        StatusCount(record_id, "sms", "outbound", "accepted", accepted),
        StatusCount(record_id, "sms", "outbound", "sent", accepted + timedelta(seconds=1)),
        StatusCount(record_id, "sms", "outbound", final, accepted + timedelta(seconds=3), code),
    ]


async def _write(stats: MessageStats, days: int, per_day: int, at_once: int) -> None:
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    limit = asyncio.Semaphore(at_once)

    async def one(day: int, n: int) -> None:
        accepted = today - timedelta(days=day, seconds=n)
        async with limit:
            for count in _statuses(f"sms-{day}-{n}", accepted, n % UNDELIVERED_EVERY == 0):
                await stats.count(count)

    await asyncio.gather(*(one(day, n) for day in range(days) for n in range(per_day)))


async def measure(connection_string: str) -> dict[str, float]:
    counter = _Counter()
    figures: dict[str, float] = {}
    async with TableServiceClient.from_connection_string(
        connection_string, raw_request_hook=counter
    ) as service:
        for label, at_once, per_day in (("one_at_a_time", 1, 50), ("at_once", AT_ONCE, 0)):
            table = await service.create_table_if_not_exists(f"BenchStats{secrets.token_hex(3)}")
            stats = MessageStats(table)
            before = counter.requests
            if per_day:
                await _write(stats, 1, per_day, at_once)
                figures[label] = (counter.requests - before) / per_day
                continue
            await _write(stats, DAYS, SMS_PER_DAY, at_once)
            figures[label] = (counter.requests - before) / (DAYS * SMS_PER_DAY)
            today = datetime.now(UTC).date()
            first_day = today - timedelta(days=DAYS - 1)
            for load in ("first_load", "later_load"):
                before = counter.requests
                days = await stats.days(first_day, today, today)
                figures[load] = counter.requests - before
            figures["accepted"] = sum(day.counts["sms~outbound~accepted~"] for day in days)
    return figures


def main() -> None:
    logging.getLogger("gateway").setLevel(logging.WARNING)
    with Azurite() as azurite:
        figures = asyncio.run(measure(azurite.connection_string))
    assert figures["accepted"] == DAYS * SMS_PER_DAY
    print(f"console totals, {DAYS} days of {SMS_PER_DAY} SMS a day (accepted, sent, final)")
    print(
        f"  storage reads per console load: first {figures['first_load']:.0f} "
        f"(stores the closed days' totals), then {figures['later_load']:.0f}; "
        f"baseline, reading every summary of the range: {DAYS * SMS_PER_DAY} point reads "
        f"({DAYS * SMS_PER_DAY / figures['later_load']:.0f}x)"
    )
    print(
        f"  statistics write requests per SMS: {figures['one_at_a_time']:.2f} one at a time, "
        f"{figures['at_once']:.2f} with {AT_ONCE} at once"
    )


if __name__ == "__main__":
    main()
