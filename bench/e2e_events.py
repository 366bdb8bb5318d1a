"""Events out in the end-to-end bench: what the default set (final statuses and inbound, as
ACS sends) and every transition cost per delivered SMS, each to a webhook and to an Event
Grid topic (the local stand-ins), against events off measured in the same run.

A run ends when Twilio has delivered every SMS and the destination has taken every SMS's
``sms.delivered`` event; its storage requests and host CPU are then counted as for events
off. Figures only: nothing here asserts.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from tests.support import soak_events

if TYPE_CHECKING:
    from bench.end_to_end import GatewayRun

DELIVERED = "io.github.twilio-gateway.sms.delivered"


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


@contextmanager
def stand_ins(workdir: Path) -> Iterator[tuple[soak_events.StandIn, soak_events.StandIn]]:
    del workdir
    with soak_events.stand_ins() as both:
        yield both


def configurations(
    receiver: soak_events.StandIn, grid: soak_events.StandIn
) -> list[tuple[str, dict[str, str], float]]:
    """(label, the gateway's settings, ``sms.delivered`` events per SMS to wait for)."""
    found: list[tuple[str, dict[str, str], float]] = []
    for types in ("default", "all"):
        hook = {
            "EVENT_WEBHOOK_URL": receiver.base_url + "/events",
            "EVENT_WEBHOOK_SECRET": soak_events.WEBHOOK_SECRET,
            "EVENT_WEBHOOK_TYPES": types,
        }
        topic = {
            "EVENT_GRID_TOPIC_ENDPOINT": grid.base_url + "/api/events",
            "EVENT_GRID_TOPIC_KEY": soak_events.GRID_KEY,
            "EVENT_GRID_TYPES": types,
        }
        for where, settings in (("webhook", hook), ("Event Grid", topic)):
            tables = {
                "EVENT_DEAD_LETTER_TABLE": f"Dead{slug(types + where).replace('-', '')}",
                "EVENT_DESTINATION_TABLE": f"Off{slug(types + where).replace('-', '')}",
                "EVENT_SIGNAL_DELAY_SECONDS": "1",
            }
            found.append((f"{types} set to {where}", {**settings, **tables}, 1.0))
    return found


class Delivered:
    """How many ``sms.delivered`` events both stand-ins have taken (distinct ids)."""

    def __init__(
        self,
        receiver: soak_events.StandIn,
        grid: soak_events.StandIn,
        http: aiohttp.ClientSession,
    ) -> None:
        self.receiver, self.grid = receiver, grid
        del http

    async def events(self) -> Counter[str]:
        got = await asyncio.to_thread(soak_events.delivered_events, self.receiver, self.grid)
        types: Counter[str] = Counter()
        seen: set[str] = set()
        for events in got.values():
            for event in events:
                if event["id"] not in seen:
                    seen.add(event["id"])
                    types[str(event["type"])] += 1
        return types

    async def count(self) -> int:
        return (await self.events())[DELIVERED]

    async def wait_for(self, count: int, deadline: float) -> None:
        while await self.count() < count:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {await self.count()} of {count} events delivered")
            await asyncio.sleep(0.25)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _per_sms(runs: Sequence[GatewayRun]) -> tuple[float, float, float, float]:
    """Storage requests (all, table, queue) and host CPU ms per delivered SMS."""
    delivered = sum(run.messages for run in runs)
    storage: Counter[str] = Counter()
    for run in runs:
        storage.update(run.storage)
    table = sum(v for k, v in storage.items() if k.startswith("table")) / delivered
    queue = sum(v for k, v in storage.items() if k.startswith("queue")) / delivered
    cpu = _median([run.cpu_seconds / run.messages * 1000 for run in runs])
    return table + queue, table, queue, cpu


def table(
    off: Sequence[GatewayRun],
    events: dict[str, list[GatewayRun]],
    delivered: dict[str, int],
) -> list[str]:
    base, _, _, base_cpu = _per_sms(off)
    lines = [
        "events out, per delivered SMS (storage requests at the counting proxies, host CPU)",
        "",
        "| events | storage requests (table / queue) | more than off | host CPU | more than off |",
        "|---|---|---|---|---|",
        f"| off | {base:.2f} | | {base_cpu:.1f} ms | |",
    ]
    for label, runs in events.items():
        total, tables, queues, cpu = _per_sms(runs)
        lines.append(
            f"| {label} | {total:.2f} ({tables:.2f} / {queues:.2f}) | {total - base:+.2f} | "
            f"{cpu:.1f} ms | {cpu - base_cpu:+.1f} ms |"
        )
    lines.append("")
    lines.append(
        "sms.delivered events taken: "
        + ", ".join(f"{label} {count}" for label, count in delivered.items())
    )
    for label, runs in events.items():
        storage: Counter[str] = Counter()
        for run in runs:
            storage.update(run.storage)
        messages = sum(run.messages for run in runs)
        event_rows = {
            name: count / messages
            for name, count in storage.items()
            if "vent" in name or "Dead" in name or "Off" in name
        }
        lines.append(
            f"  {label}: events' own requests per SMS "
            + ", ".join(f"{name} {value:.2f}" for name, value in sorted(event_rows.items()))
        )
    return lines
