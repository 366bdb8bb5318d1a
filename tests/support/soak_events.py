"""The soak's events: every status change of every record must reach the webhook receiver
and the Event Grid stand-in, while 20% of their answers fail, the receiver is down for a
while and the host is killed.

What was expected is derived from the log at the end, with the gateway's own rule
(``status_changes``), and compared with what each stand-in answered 2xx: lost (expected, never
delivered), duplicate deliveries (delivered more than once: at least once allows them),
dead-lettered, and whether each record's events sort by ``sequence`` into its history's order.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.request import Request, urlopen

from azure.data.tables.aio import TableClient

from localdev.azurite import PROJECT_ROOT
from localdev.ports import free_port, wait_for_port
from localdev.processes import stop_process
from shared.domain.events import cloud_event, status_changes
from shared.domain.records import events_of
from shared.domain.transitions import fold_callback
from shared.storage.message_log import from_rows

GRID_KEY = "soak-event-grid-key"
DESTINATION_SETTINGS = (
    "EVENT_GRID_TOPIC_ENDPOINT",
    "EVENT_GRID_TOPIC_KEY",
    "EVENT_WEBHOOK_URL",
    "EVENT_WEBHOOK_SECRET",
    "EVENT_CALLBACK_SECRET",
)
WEBHOOK_SECRET = "whsec_c29hay13ZWJob29rLXNlY3JldC1vZi0zMi1ieXRlcyE="


@dataclass
class EventsReport:
    expected: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    lost: dict[str, list[str]] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    failed_answers: dict[str, int] = field(default_factory=dict)
    dead_lettered: int = 0
    out_of_order: list[str] = field(default_factory=list)

    def merge(self, other: EventsReport) -> None:
        self.expected += other.expected
        for mine, theirs in (
            (self.delivered, other.delivered),
            (self.duplicates, other.duplicates),
        ):
            for name, count in theirs.items():
                mine[name] = mine.get(name, 0) + count
        for name, count in other.failed_answers.items():
            self.failed_answers[name] = self.failed_answers.get(name, 0) + count
        for name, ids in other.lost.items():
            self.lost.setdefault(name, []).extend(ids)
        self.dead_lettered += other.dead_lettered
        self.out_of_order += other.out_of_order

    @property
    def lost_count(self) -> int:
        return sum(len(ids) for ids in self.lost.values())

    def lines(self) -> list[str]:
        names = sorted(self.delivered)
        each = ", ".join
        return [
            f"events expected   {self.expected} (to each of {each(names)})",
            f"events delivered  {each(f'{n} {self.delivered[n]}' for n in names)} (distinct ids)",
            f"events lost       {self.lost_count} "
            f"({each(f'{n} {len(self.lost.get(n, []))}' for n in names)})",
            f"duplicate deliv.  {each(f'{n} {self.duplicates.get(n, 0)}' for n in names)}",
            f"failed answers    {each(f'{n} {self.failed_answers.get(n, 0)}' for n in names)}",
            f"dead-lettered     {self.dead_lettered}",
            f"out of order      {len(self.out_of_order)} records",
        ]


class StandIn:
    """One stand-in process and a blocking client (the servers run in their own processes)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        with urlopen(Request(self.base_url + path, data, headers, method=method), timeout=60) as r:
            body = r.read()
        return json.loads(body) if body else None

    def received(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/received")
        return found

    def fault(self, **rule: Any) -> None:
        self.call("POST", "/faults", rule)


@contextmanager
def _process(module: str, *args: str) -> Iterator[StandIn]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield StandIn(f"http://127.0.0.1:{port}")
    finally:
        stop_process(process, timeout=10)


@contextmanager
def stand_ins() -> Iterator[tuple[StandIn, StandIn]]:
    """(webhook receiver, Event Grid stand-in)."""
    with ExitStack() as stack:
        receiver = stack.enter_context(
            _process("localdev.webhook_receiver", "--secret", WEBHOOK_SECRET)
        )
        grid = stack.enter_context(_process("localdev.event_grid", "--key", GRID_KEY))
        yield receiver, grid


def gateway_settings(
    receiver: StandIn, grid: StandIn, token: str, retry_max_seconds: float
) -> dict[str, str]:
    return {
        "EVENT_WEBHOOK_URL": receiver.base_url + "/events",
        "EVENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EVENT_WEBHOOK_TYPES": "all",
        "EVENT_GRID_TOPIC_ENDPOINT": grid.base_url + "/api/events",
        "EVENT_GRID_TOPIC_KEY": GRID_KEY,
        "EVENT_GRID_TYPES": "all",
        "EVENT_DEAD_LETTER_TABLE": f"Soak{token}Dead",
        "EVENT_DESTINATION_TABLE": f"Soak{token}Off",
        "EVENT_SIGNAL_DELAY_SECONDS": "1",
        "EVENT_RETRY_FIRST_SECONDS": "1",
        "EVENT_RETRY_MAX_SECONDS": str(retry_max_seconds),
    }


def delivered_events(receiver: StandIn, grid: StandIn) -> dict[str, list[dict[str, Any]]]:
    """Every event each stand-in answered 2xx, in arrival order (repeats included)."""
    hooks = [
        entry["event"]
        for entry in receiver.received()
        if 200 <= int(entry.get("status") or 0) < 300 and isinstance(entry.get("event"), dict)
    ]
    return {"webhook": hooks, "event_grid": [entry["event"] for entry in grid.received()]}


def failed_answers(receiver: StandIn, grid: StandIn) -> dict[str, int]:
    hooks = sum(1 for e in receiver.received() if not 200 <= int(e.get("status") or 0) < 300)
    requests: list[dict[str, Any]] = grid.call("GET", "/requests")
    return {
        "webhook": hooks,
        "event_grid": sum(1 for r in requests if not 200 <= int(r.get("status") or 0) < 300),
    }


async def expected_events(storage: str, table_name: str) -> dict[str, list[dict[str, Any]]]:
    """Each record's events as the gateway derives them, in the order of its history."""
    partitions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async with TableClient.from_connection_string(storage, table_name) as table:
        async for row in table.list_entities():
            partitions[str(row["PartitionKey"])].append(row)
    found: dict[str, list[dict[str, Any]]] = {}
    for record_id, rows in partitions.items():
        rows.sort(key=lambda row: str(row["RowKey"]))
        read = from_rows(rows, fold_callback)
        if read is None:
            continue
        record, event_rows = read
        history = sorted(events_of(record) + event_rows, key=lambda event: event.at)
        found[record_id] = [
            cloud_event(record, change, "soak") for change in status_changes(record, history)
        ]
    return found


async def dead_letters(storage: str, table_name: str) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        async with TableClient.from_connection_string(storage, table_name) as table:
            return len([row async for row in table.list_entities()])
    except ResourceNotFoundError:
        return 0


def out_of_order(
    expected: Mapping[str, list[dict[str, Any]]], got: list[dict[str, Any]]
) -> list[str]:
    """Records whose delivered events, sorted by sequence, are not in their history's order."""
    by_record: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for event in got:
        by_record[str(event["subject"])][str(event["id"])] = event
    wrong = []
    for record_id, events in by_record.items():
        history_order = [event["id"] for event in expected.get(record_id, [])]
        mine = sorted(events.values(), key=lambda event: str(event["sequence"]))
        positions = [history_order.index(e["id"]) for e in mine if e["id"] in history_order]
        if positions != sorted(positions):
            wrong.append(record_id)
    return wrong


async def judge(
    storage: str,
    log_table: str,
    dead_table: str,
    receiver: StandIn,
    grid: StandIn,
    patience_seconds: float,
) -> EventsReport:
    """Waits, bounded, until every expected event reached both stand-ins, then reports."""
    deadline = time.monotonic() + patience_seconds
    while True:
        expected = await expected_events(storage, log_table)
        ids = {event["id"] for events in expected.values() for event in events}
        got = await asyncio.to_thread(delivered_events, receiver, grid)
        missing = {name: ids - {e["id"] for e in events} for name, events in got.items()}
        if not any(missing.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(2.0)
    report = EventsReport(expected=len(ids))
    for name, events in got.items():
        distinct = Counter(event["id"] for event in events)
        report.delivered[name] = len(set(distinct) & ids)
        report.duplicates[name] = sum(count - 1 for count in distinct.values())
        report.lost[name] = sorted(missing[name])
        report.out_of_order += [f"{name}:{rid}" for rid in out_of_order(expected, events)]
    report.failed_answers = await asyncio.to_thread(failed_answers, receiver, grid)
    report.dead_lettered = await dead_letters(storage, dead_table)
    return report
