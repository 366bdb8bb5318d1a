"""What the retention purge and the erasure of a number cost in storage requests.

Records are written as the gateway writes them (summary with its history, a status callback
row, a SID owner row, the index's time row and number row), backdated past the retention for
the purge, and counted at a proxy in front of Azurite's table service, as ``end_to_end``
counts a send. Figures only.

``python -m bench.data_lifetime [--records N]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from bench.end_to_end import _Proxy, _through
from localdev.azurite import Azurite
from shared.delivery.erasure import erase_number
from shared.delivery.retention import purge
from shared.delivery.services import Services, get_services, reset_services
from shared.domain.records import LogEvent, LogRecord, utcnow
from shared.storage.message_log import callback_key

FROM_NUMBER = "+15005550006"
RECORDS_PER_NUMBER = 2


@dataclass
class Figures:
    records: int
    write: float = 0.0
    purge: float = 0.0
    erase_per_record: float = 0.0
    erase_per_number: float = 0.0
    purge_detail: Counter[str] | None = None
    erase_detail: Counter[str] | None = None


async def _logged(services: Services, index: int, to: str, at: datetime) -> None:
    record_id = f"bench-{index}-{secrets.token_hex(3)}"
    record = LogRecord(
        id=record_id, kind="sms", status="sent", status_rank=50, to=to, from_=None,
        created_at=at, updated_at=at, body=f"hello {index}",
    )  # fmt: skip
    created = await services.log.create(record, LogEvent("accepted", "api", at=at))
    sid = "SM" + secrets.token_hex(16)
    await asyncio.gather(
        services.index.add(created),
        services.sids.claim(sid, record_id),
        services.log.add_callback(
            record_id,
            LogEvent("delivered", "twilio", twilio_sid=sid),
            inbound_only=False,
            key=callback_key({"MessageSid": [sid], "MessageStatus": ["delivered"]}),
        ),
    )


async def _counts(http: aiohttp.ClientSession, proxy: _Proxy) -> Counter[str]:
    return Counter((await proxy.stats(http))["requests"])


async def _measure(figures: Figures, workdir: Path) -> None:
    with Azurite() as azurite:
        tables = _Proxy(f"http://127.0.0.1:{azurite.table_port}", "table", workdir)
        with tables:
            os.environ.update(
                {
                    "AzureWebJobsStorage": _through(
                        azurite.connection_string,
                        f"{tables.base_url}/devstoreaccount1",
                        f"http://127.0.0.1:{azurite.queue_port}/devstoreaccount1",
                    ),
                    "NUMBER_HASH_KEY": secrets.token_hex(32),
                    "TWILIO_ACCOUNT_SID": "AC" + "8" * 32,
                    "TWILIO_AUTH_TOKEN": "bench-auth-token",
                    "TWILIO_FROM_NUMBER": FROM_NUMBER,
                }
            )
            await reset_services()
            services = await get_services()
            await services.retention()
            async with aiohttp.ClientSession() as http:
                await _purge(figures, services, http, tables)
                await _erase(figures, services, http, tables)
            await reset_services()


async def _purge(
    figures: Figures, services: Services, http: aiohttp.ClientSession, tables: _Proxy
) -> None:
    old = utcnow() - timedelta(days=services.settings.retention_days + 2)
    before = await _counts(http, tables)
    await asyncio.gather(
        *(_logged(services, i, f"+1555{i:07d}", old) for i in range(figures.records))
    )
    written = await _counts(http, tables)
    report = await purge(services)
    after = await _counts(http, tables)
    assert report.records == figures.records, report
    figures.write = (written.total() - before.total()) / figures.records
    figures.purge = (after.total() - written.total()) / figures.records
    after.subtract(written)
    figures.purge_detail = +after


async def _erase(
    figures: Figures, services: Services, http: aiohttp.ClientSession, tables: _Proxy
) -> None:
    numbers = [f"+1666{i:07d}" for i in range(figures.records // RECORDS_PER_NUMBER)]
    now = utcnow()
    await asyncio.gather(
        *(
            _logged(services, i, number, now)
            for number in numbers
            for i in range(RECORDS_PER_NUMBER)
        )
    )
    before = await _counts(http, tables)
    erased = 0
    for number in numbers:
        erased += (await erase_number(services, number)).records
    after = await _counts(http, tables)
    assert erased == len(numbers) * RECORDS_PER_NUMBER
    figures.erase_per_record = (after.total() - before.total()) / erased
    figures.erase_per_number = (after.total() - before.total()) / len(numbers)
    after.subtract(before)
    figures.erase_detail = +after


def table(figures: Figures) -> list[str]:
    lines = [
        f"data lifetime, {figures.records} records (summary + history, a callback row, an "
        "owner row, a time row and a number row each)",
        "",
        "| measure | storage requests |",
        "|---|---|",
        f"| writing one record (this bench's set-up, not grouped) | {figures.write:.2f} |",
        f"| per purged record | {figures.purge:.2f} |",
        f"| per erased record ({RECORDS_PER_NUMBER} records per number, index of 1 day) | "
        f"{figures.erase_per_record:.2f} |",
        f"| per erased number | {figures.erase_per_number:.2f} |",
        "",
        "| purge: table, operation | requests |",
        "|---|---|",
    ]
    for name, count in sorted((figures.purge_detail or Counter()).items()):
        lines.append(f"| {name} | {count} |")
    lines += ["", "| erasure: table, operation | requests |", "|---|---|"]
    for name, count in sorted((figures.erase_detail or Counter()).items()):
        lines.append(f"| {name} | {count} |")
    return lines


def measure(records: int) -> Figures:
    figures = Figures(records=records)
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-lifetime-") as workdir:
            asyncio.run(_measure(figures, Path(workdir)))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.data_lifetime", description=__doc__)
    parser.add_argument("--records", type=int, default=200, help="records purged, then erased")
    args, _ = parser.parse_known_args(argv)
    for line in table(measure(args.records)):
        print(line)


if __name__ == "__main__":
    main()
