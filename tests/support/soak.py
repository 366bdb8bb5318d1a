"""The soak: the whole local stack under Twilio faults and killed hosts, many producers.

It runs Azurite's storage (given), the Twilio simulator behind the fault proxy, and the local
Functions host as a process that is SIGKILLed and restarted while messages flow. Producers mix
the API (with repeated Idempotency-Keys) and the queue (with and without ``id``, plain and
base64, duplicated puts). Afterwards every accepted message is compared with what the
simulator received: nothing may be lost, sent twice, left open, or failed although sent.

With ``events``, every status change of every record is also published to the webhook
receiver and the Event Grid stand-in (``soak_events``), 20% of whose answers fail, the
receiver being down for ``receiver_outage_seconds`` mid-feed; none may be lost.

Two of Twilio's bad days can be added: an outage (every request answered 503 or 429 for a
stretch in the middle of the feed, which is then paced at ``feed_rate``) and a concurrency
limit (429 / 20429 beyond N requests in flight, each taking ``twilio_latency``); then not one
record may end ``failed`` either, and the report says how many requests Twilio took per
second against what the limit allows.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import secrets
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

from localdev.ports import free_port
from localdev.stack import Stack
from shared.domain.transitions import fold_callback
from shared.storage.message_log import from_rows
from tests.support import soak_events
from tests.support.fast_app import fast_app

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "soak-auth-token"
FUNCTION_KEY = "soak-function-key"
FROM_NUMBER = "+15005550006"
TERMINAL = {"delivered", "undelivered", "failed", "completed", "busy", "no-answer", "canceled"}
TERMINAL |= {"rejected", "withdrawn", "unknown", "read"}


@dataclass(frozen=True)
class Throughput:
    per_second: float
    allows: float
    latency: float
    allows_observed: float

    @property
    def share(self) -> float:
        return self.per_second / self.allows

    @property
    def share_observed(self) -> float:
        return self.per_second / self.allows_observed


@dataclass(frozen=True)
class SoakConfig:
    messages: int = 300
    fault_rate: float = 0.2
    kills: int = 3
    public_callbacks: bool = True
    seed: int = 7
    producers: int = 12
    patience_seconds: float = 240.0
    max_dequeue_count: int = 5
    # Messages per second fed in all (None: as fast as the producers go).
    feed_rate: float | None = None
    # An outage: every Twilio request answered ``outage_status`` for ``outage_seconds``,
    # starting ``outage_after`` seconds into the feed.
    outage_status: int | None = None
    outage_seconds: float = 0.0
    outage_after: float = 0.0
    concurrency_limit: int | None = None
    twilio_latency: float = 0.0
    retry_first_seconds: float = 1.0
    retry_max_seconds: float = 8.0
    # Events out: to a webhook receiver and the Event Grid stand-in, failing this share of
    # answers, the receiver answering 503 for a while from some seconds into the feed.
    events: bool = False
    event_fail_ratio: float = 0.2
    receiver_outage_seconds: float = 0.0
    receiver_outage_after: float = 2.0
    event_retry_max_seconds: float = 15.0


@dataclass
class SoakReport:
    accepted: int = 0
    terminal: int = 0
    lost: list[str] = field(default_factory=list)
    sent_twice: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    failed_but_sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    faults: dict[str, int] = field(default_factory=dict)
    kills: int = 0
    wall_seconds: float = 0.0
    # Per round: Twilio requests taken per second while busy, what the concurrency limit
    # allows at the nominal latency, and at the latency Twilio (proxy and simulator) had.
    throughput: list[Throughput] = field(default_factory=list)
    # Seconds from the end of the outage until every record was final.
    final_after_outage: float | None = None
    events: soak_events.EventsReport | None = None

    def merge(self, other: SoakReport) -> None:
        """Adds another round's figures (a soak of several rounds reports their sum)."""
        self.accepted += other.accepted
        self.terminal += other.terminal
        for name in ("lost", "sent_twice", "stuck", "failed_but_sent", "failed"):
            getattr(self, name).extend(getattr(other, name))
        self.statuses.update(other.statuses)
        for kind, count in other.faults.items():
            self.faults[kind] = self.faults.get(kind, 0) + count
        self.kills += other.kills
        self.wall_seconds += other.wall_seconds
        self.throughput.extend(other.throughput)
        if other.final_after_outage is not None:
            self.final_after_outage = max(self.final_after_outage or 0.0, other.final_after_outage)
        if other.events is not None:
            if self.events is None:
                self.events = soak_events.EventsReport()
            self.events.merge(other.events)

    def lines(self) -> list[str]:
        extra = []
        if self.throughput:
            worst = min(self.throughput, key=lambda taken: taken.share)
            of = (
                f" in the slowest of {len(self.throughput)} rounds"
                if len(self.throughput) > 1
                else ""
            )
            extra.append(
                f"Twilio took       {worst.per_second:.1f} requests/s{of} "
                f"(limit allows {worst.allows:.1f}: {worst.share:.2f})"
            )
            extra.append(
                f"at its latency    {worst.latency * 1000:.0f} ms, the limit allows "
                f"{worst.allows_observed:.1f}/s: {worst.share_observed:.2f}"
            )
            if len(self.throughput) > 1:
                shares = " ".join(f"{taken.share_observed:.2f}" for taken in self.throughput)
                extra.append(f"every round       {shares} (at Twilio's latency)")
        if self.final_after_outage is not None:
            extra.append(f"all final         {self.final_after_outage:.1f} s after the outage")
        return [
            f"accepted          {self.accepted}",
            f"terminal          {self.terminal}",
            f"lost              {len(self.lost)}",
            f"sent twice        {len(self.sent_twice)}",
            f"stuck             {len(self.stuck)}",
            f"failed but sent   {len(self.failed_but_sent)}",
            f"failed            {len(self.failed)}",
            f"wall time         {self.wall_seconds:.1f} s",
            f"host kills        {self.kills}",
            f"faults injected   {sum(self.faults.values())} {dict(sorted(self.faults.items()))}",
            f"final statuses    {dict(sorted(self.statuses.items()))}",
            *extra,
            *(self.events.lines() if self.events is not None else []),
        ]


@dataclass
class Planned:
    """One logical message: what a producer meant to send once."""

    marker: str
    kind: str
    route: str  # api, api-repeat, queue-id, queue-id-twice, queue-no-id
    base64: bool
    to: str
    record_id: str | None = None

    def document(self) -> dict[str, Any]:
        content = {"body": f"{self.marker} hello"} if self.kind == "sms" else {"say": self.marker}
        document: dict[str, Any] = {"kind": self.kind, "to": self.to, **content}
        if self.route.startswith("queue-id") or self.route.startswith("api"):
            document["id"] = self.marker
        return document


def plan(config: SoakConfig, token: str) -> list[Planned]:
    rng = random.Random(config.seed)
    routes = ["api", "api", "api-repeat", "queue-id", "queue-id-twice", "queue-no-id"]
    planned = []
    for n in range(config.messages):
        kind = "call" if n % 10 == 9 else "sms"
        to = f"+1555{n:07d}" if kind == "call" else f"+1555000{rng.randrange(20):04d}"
        planned.append(
            Planned(f"soak-{token}-{n}", kind, rng.choice(routes), rng.random() < 0.5, to)
        )
    return planned


class Soak:
    def __init__(self, config: SoakConfig, storage: str, workdir: Path) -> None:
        self.config = config
        self.storage = storage
        self.token = secrets.token_hex(3)
        self.queue_name = f"soak-{self.token}"
        self.table_name = f"Soak{self.token}"
        self.workdir = workdir
        self.report = SoakReport()
        self._statuses: dict[str, str] = {}
        self._event_settings: dict[str, str] = {}

    def _stack(self, sim_port: int, proxy_port: int) -> Stack:
        host_port = free_port()
        settings = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": self.storage,
            "OUTBOUND_QUEUE": self.queue_name,
            "MESSAGE_LOG_TABLE": self.table_name,
            "OPT_OUT_TABLE": f"{self.table_name}OptOuts",
            "MESSAGE_INDEX_TABLE": f"{self.table_name}Index",
            "MESSAGE_STATS_TABLE": f"{self.table_name}Stats",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": f"http://127.0.0.1:{proxy_port}",
            "TWILIO_TIMEOUT_SECONDS": "2",
            "SEND_LEASE_SECONDS": "7",
            "STATUS_CHECK_SECONDS": "1",
            "SIM_CALLBACK_DELAY": "0.05",
            "TWILIO_RETRY_FIRST_SECONDS": str(self.config.retry_first_seconds),
            "TWILIO_RETRY_MAX_SECONDS": str(self.config.retry_max_seconds),
            "EVENTS_QUEUE": f"{self.queue_name}-events",
            # The host fills what is not set from local.settings.json.example, which points
            # at make dev's stand-ins: no destination unless this soak carries events.
            **dict.fromkeys(soak_events.DESTINATION_SETTINGS, ""),
            **self._event_settings,
        }
        if self.config.public_callbacks:
            settings["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{host_port}"
        app_dir = fast_app(self.workdir, self.config.max_dequeue_count)
        proxy_args = ["--fault-rate", str(self.config.fault_rate), "--hang-seconds", "3"]
        proxy_args += ["--seed", str(self.config.seed)]
        proxy_args += ["--latency", str(self.config.twilio_latency)]
        if self.config.concurrency_limit is not None:
            proxy_args += ["--concurrency-limit", str(self.config.concurrency_limit)]
        return Stack(
            app_dir=app_dir,
            host_port=host_port,
            settings=settings,
            function_key=FUNCTION_KEY,
            log_dir=self.workdir / "logs",
            host_args=("--message-lease", "4"),
            simulator_port=sim_port,
            fault_proxy_port=proxy_port,
            fault_proxy_args=tuple(proxy_args),
        )

    async def run(self) -> SoakReport:
        if not self.config.events:
            return await self._run()
        with soak_events.stand_ins() as (receiver, grid):
            self._event_settings = soak_events.gateway_settings(
                receiver, grid, self.token, self.config.event_retry_max_seconds
            )
            for stand_in in (receiver, grid):
                stand_in.fault(fail_ratio=self.config.event_fail_ratio, seed=self.config.seed)
            self._stand_ins = (receiver, grid)
            return await self._run()

    async def _receiver_outage(self) -> None:
        config = self.config
        if not config.events or not config.receiver_outage_seconds:
            return
        receiver, _ = self._stand_ins
        await asyncio.sleep(config.receiver_outage_after)
        await asyncio.to_thread(receiver.fault, status=503, seconds=config.receiver_outage_seconds)
        await asyncio.sleep(config.receiver_outage_seconds)
        await asyncio.to_thread(receiver.fault, fail_ratio=config.event_fail_ratio)

    async def _judge_events(self) -> None:
        if not self.config.events:
            return
        receiver, grid = self._stand_ins
        self.report.events = await soak_events.judge(
            self.storage,
            self.table_name,
            self._event_settings["EVENT_DEAD_LETTER_TABLE"],
            receiver,
            grid,
            self.config.patience_seconds,
        )

    async def _run(self) -> SoakReport:
        started = time.monotonic()
        sim_port, proxy_port = free_port(), free_port()
        proxy = f"http://127.0.0.1:{proxy_port}/_proxy"
        stack = self._stack(sim_port, proxy_port)
        await asyncio.to_thread(stack.start)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
                planned = plan(self.config, self.token)
                killer = asyncio.create_task(self._kill_now_and_then(stack))
                outage = asyncio.create_task(self._outage(http, proxy))
                receiver_outage = asyncio.create_task(self._receiver_outage())
                await self._produce(http, stack.base_url, planned)
                await killer
                outage_ends = await outage
                await self._settle(planned)
                if outage_ends is not None:
                    self.report.final_after_outage = time.monotonic() - outage_ends
                await self._judge(http, f"http://127.0.0.1:{sim_port}", planned)
                await receiver_outage
                await self._judge_events()
                async with http.get(f"{proxy}/stats") as answer:
                    stats = await answer.json()
        finally:
            await asyncio.to_thread(stack.stop)
        self.report.faults = dict(stats["faults"])
        self._throughput(stats)
        self.report.wall_seconds = time.monotonic() - started
        return self.report

    async def _outage(self, http: aiohttp.ClientSession, proxy: str) -> float | None:
        """Starts the outage on time; returns when it ends (monotonic), once it has."""
        if self.config.outage_status is None:
            return None
        await asyncio.sleep(self.config.outage_after)
        outage = {"status": self.config.outage_status, "seconds": self.config.outage_seconds}
        async with http.post(f"{proxy}/outage", json=outage) as answer:
            answer.raise_for_status()
        await asyncio.sleep(self.config.outage_seconds)
        return time.monotonic()

    def _throughput(self, stats: dict[str, Any]) -> None:
        """Requests Twilio took per second while busy: the time to take the first 90%."""
        if self.config.concurrency_limit is None or not self.config.twilio_latency:
            return
        times: list[float] = stats["taken_at"]
        if len(times) < 20:
            return
        busy = times[: int(len(times) * 0.9)]
        latency = stats["mean_latency"]
        if busy[-1] > busy[0] and latency:
            per_second = (len(busy) - 1) / (busy[-1] - busy[0])
            limit = self.config.concurrency_limit
            taken = Throughput(
                per_second, limit / self.config.twilio_latency, latency, limit / latency
            )
            self.report.throughput.append(taken)

    async def _kill_now_and_then(self, stack: Stack) -> None:
        """Kills come a few seconds apart, or, with a paced feed, spread over all of it (so
        that an outage in its middle sees some)."""
        rng = random.Random(self.config.seed + 1)
        kills = self.config.kills
        pauses = [rng.uniform(1.0, max(3.0, self.config.messages / 200)) for _ in range(kills)]
        if self.config.feed_rate:
            span = self.config.messages / self.config.feed_rate
            moments = sorted(rng.uniform(1.0, span) for _ in range(kills))
            pauses = [b - a for a, b in zip([0.0, *moments], moments, strict=False)]
        for pause in pauses:
            await asyncio.sleep(pause)
            await asyncio.to_thread(stack.kill_host)
            self.report.kills += 1
            await asyncio.sleep(0.5)
            await asyncio.to_thread(stack.start_host)

    async def _produce(
        self, http: aiohttp.ClientSession, base_url: str, planned: list[Planned]
    ) -> None:
        work: asyncio.Queue[Planned] = asyncio.Queue()
        for item in planned:
            work.put_nowait(item)
        started = time.monotonic()
        fed = 0
        async with QueueClient.from_connection_string(self.storage, self.queue_name) as queue:
            await _ignore_exists(queue.create_queue)

            async def producer() -> None:
                nonlocal fed
                while not work.empty():
                    item = work.get_nowait()
                    if self.config.feed_rate:
                        due = started + fed / self.config.feed_rate
                        fed += 1
                        await asyncio.sleep(max(due - time.monotonic(), 0.0))
                    if item.route.startswith("api"):
                        await self._post(http, base_url, item)
                        if item.route == "api-repeat":
                            await self._post(http, base_url, item)
                    else:
                        await self._put(queue, item)
                    self.report.accepted += 1

            await asyncio.gather(*(producer() for _ in range(self.config.producers)))

    async def _post(self, http: aiohttp.ClientSession, base_url: str, item: Planned) -> None:
        """As a careful client does: retry with the same key until the answer is 202."""
        document = item.document()
        path = "/api/messages" if item.kind == "sms" else "/api/calls"
        del document["kind"]
        headers = {"x-functions-key": FUNCTION_KEY, "Idempotency-Key": item.marker}
        for _ in range(120):
            try:
                async with http.post(base_url + path, json=document, headers=headers) as answer:
                    if answer.status == 202:
                        item.record_id = item.marker
                        return
                    if answer.status < 500:
                        raise AssertionError(
                            f"{item.marker}: {answer.status} {await answer.text()}"
                        )
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.5)
        raise AssertionError(f"{item.marker} was never accepted")

    async def _put(self, queue: QueueClient, item: Planned) -> None:
        text = json.dumps(item.document())
        if item.base64:
            text = base64.b64encode(text.encode()).decode()
        sent = await queue.send_message(text)
        if item.route == "queue-id-twice":
            await queue.send_message(text)
        item.record_id = item.marker if "id" in item.document() else str(sent.id)

    async def _settle(self, planned: list[Planned]) -> None:
        """Wait, bounded, until every accepted message's record is final."""
        deadline = time.monotonic() + self.config.patience_seconds
        async with TableClient.from_connection_string(self.storage, self.table_name) as table:
            while True:
                statuses = await _summaries(table)
                open_ids = [
                    item.record_id
                    for item in planned
                    if statuses.get(str(item.record_id)) not in TERMINAL
                ]
                if not open_ids or time.monotonic() > deadline:
                    self._statuses = statuses
                    return
                await asyncio.sleep(1.0)

    async def _judge(
        self, http: aiohttp.ClientSession, sim_url: str, planned: list[Planned]
    ) -> None:
        sent: Counter[str] = Counter()
        for collection, field_name in (("messages", "body"), ("calls", "inline_twiml")):
            async with http.get(f"{sim_url}/_sim/{collection}") as answer:
                for resource in (await answer.json())[collection]:
                    text = str(resource.get(field_name) or "")
                    for word in text.replace("<", " ").replace(">", " ").split():
                        if word.startswith(f"soak-{self.token}-"):
                            sent[word] += 1
        report = self.report
        for item in planned:
            status = self._statuses.get(str(item.record_id))
            report.statuses[str(status)] += 1
            count = sent[item.marker]
            if status in TERMINAL:
                report.terminal += 1
            else:
                report.stuck.append(item.marker)
            if count > 1:
                report.sent_twice.append(item.marker)
            if count == 0 and status != "failed":
                report.lost.append(item.marker)
            if count and status == "failed":
                report.failed_but_sent.append(item.marker)
            if status == "failed":
                report.failed.append(item.marker)


async def _summaries(table: TableClient) -> dict[str, str]:
    """Each record's status as the gateway reads it: the summary with its callbacks folded."""
    partitions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async for row in table.list_entities():
        partitions[str(row["PartitionKey"])].append(row)
    statuses: dict[str, str] = {}
    for partition, rows in partitions.items():
        found = from_rows(rows, fold_callback)
        if found is not None:
            statuses[partition] = found[0].status
    return statuses


async def _ignore_exists(create: Callable[[], Awaitable[Any]]) -> None:
    from azure.core.exceptions import ResourceExistsError

    try:
        await create()
    except ResourceExistsError:
        return
