"""How long the first page of ``GET /api/messages`` takes as the log grows, against the
baseline a list without the index would need: reading every summary and sorting.

The index keeps a page to a few partition reads plus one point read per item, so its time
should stay flat while the scan grows with the table. Storage is a real Azurite.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from datetime import timedelta

import azure.functions as func

from localdev.azurite import Azurite
from shared.delivery.services import Services, get_services, reset_services
from shared.domain.records import LogEvent, LogRecord, utcnow
from shared.handlers import list_api

SIZES = (200, 1600)
PAGE = 50
DAYS = 30
ROUNDS = 5


async def _fill(services: Services, start: int, count: int) -> None:
    now = utcnow()
    limit = asyncio.Semaphore(32)

    async def one(index: int) -> None:
        at = now - timedelta(minutes=index * DAYS * 24 * 60 / SIZES[-1])
        record = LogRecord(
            id=f"bench-{index}", kind="sms", status="delivered", status_rank=100,
            to="+15551234567", created_at=at, updated_at=at, body="bench",
        )  # fmt: skip
        async with limit:
            created = await services.log.create(record, LogEvent("delivered", "twilio", at=at))
            await services.index.add(created)

    await asyncio.gather(*(one(index) for index in range(start, start + count)))


async def _page_seconds() -> float:
    request = func.HttpRequest("GET", "http://bench/api/messages", params={}, body=b"")
    started = time.perf_counter()
    for _ in range(ROUNDS):
        response = await list_api.list_records(request, "sms")
        assert response.status_code == 200
    return (time.perf_counter() - started) / ROUNDS


async def _scan_seconds(services: Services) -> float:
    table = services.tables.get_table_client(services.settings.message_log_table)
    started = time.perf_counter()
    rows = [row async for row in table.query_entities("RowKey eq 'summary'")]
    rows.sort(key=lambda row: row["created_at"], reverse=True)
    del rows[PAGE:]
    return time.perf_counter() - started


async def measure(connection_string: str) -> list[tuple[int, float, float]]:
    suffix = secrets.token_hex(3)
    os.environ.update(
        AzureWebJobsStorage=connection_string,
        MESSAGE_LOG_TABLE=f"BenchLog{suffix}",
        MESSAGE_INDEX_TABLE=f"BenchIndex{suffix}",
    )
    await reset_services()
    services = await get_services()
    figures: list[tuple[int, float, float]] = []
    filled = 0
    for size in SIZES:
        await _fill(services, filled, size - filled)
        filled = size
        await _page_seconds()  # warm up
        figures.append((size, await _page_seconds(), await _scan_seconds(services)))
    await reset_services()
    return figures


def main() -> None:
    logging.getLogger("gateway").setLevel(logging.WARNING)
    with Azurite() as azurite:
        figures = asyncio.run(measure(azurite.connection_string))
    print(f"list page of {PAGE}, newest first, records spread over {DAYS} days")
    for size, page, scan in figures:
        print(
            f"  {size:5d} records: index {page * 1000:7.1f} ms   "
            f"full scan (baseline) {scan * 1000:7.1f} ms   ratio {scan / page:5.1f}x"
        )
    (small, small_page, _), (large, large_page, _) = figures[0], figures[-1]
    print(f"  index page time, {large} vs {small} records: {large_page / small_page:5.2f}x")


if __name__ == "__main__":
    main()
