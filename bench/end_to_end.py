"""The whole local stack, end to end: what one SMS costs the gateway, in one run.

Azurite stands behind two counting proxies (tables, queues) that the app's connection string
points at, so storage requests are counted outside the app; the Twilio simulator stands
behind a proxy that adds 100 ms per REST call; the app runs in the local host as its own
process, whose CPU time is read from /proc. The gateway is compared with sending without it
(see ``bench.e2e_senders``), its signed webhook with a bare app, its cold import with
``azure.functions`` alone. Figures only: nothing here asserts a time.

Events out are measured the same way, each on a stack of its own pointed at the local
stand-ins (``bench.e2e_events``): the default set and every transition, each to a webhook and
to an Event Grid topic, against events off (the run above), in the same storage and CPU.

``python -m bench.end_to_end [--messages N] [--runs R] [--workdir DIR] [--app-source DIR]
[--no-events]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench import e2e_events, e2e_senders, e2e_webhooks
from bench.cold_import import median_seconds
from bench.e2e_senders import IN_FLIGHT
from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.ports import free_port, wait_for_port
from localdev.processes import stop_process
from localdev.stack import Stack
from tests.support import soak_events

ACCOUNT_SID = "AC" + "8" * 32
AUTH_TOKEN = "bench-auth-token"
FUNCTION_KEY = "bench-function-key"
FROM_NUMBER = "+15005550006"
TWILIO_LATENCY_SECONDS = 0.1
POSTERS = 24
NAIVE_MESSAGES = 100
WEBHOOK_REQUESTS = 1000
WEBHOOK_WARMUP = 50
IMPORT_RUNS = 5
PATIENCE_SECONDS = 300.0
CREATED = "POST Messages.json"


class BenchmarkError(RuntimeError):
    """The stack did not do what the benchmark needs (messages not delivered, errors)."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat (fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _through(connection_string: str, table_url: str, queue_url: str) -> str:
    """The connection string with its table and queue endpoints replaced."""
    parts = [part for part in connection_string.split(";") if part]
    replaced = {"TableEndpoint": table_url, "QueueEndpoint": queue_url}
    out = [
        f"{name}={replaced.get(name, value)}"
        for name, value in (part.split("=", 1) for part in parts)
    ]
    return ";".join(out) + ";"


def _app_copy(source: Path, target: Path) -> Path:
    for module in ("function_app.py", "reminder_twiml.py"):
        shutil.copy(source / module, target / module)
    shutil.copytree(
        source / "shared", target / "shared", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(source / "host.json", target / "host.json")
    return target


@dataclass
class GatewayRun:
    """Seconds from the first API request until all were accepted, sent, delivered."""

    messages: int
    accepted_seconds: float
    sent_seconds: float
    seconds: float
    cpu_seconds: float
    storage: Counter[str]
    storage_seconds: float


@dataclass
class Figures:
    messages: int
    runs: int
    gateway: list[GatewayRun] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)
    concurrent: list[float] = field(default_factory=list)
    ceiling: list[float] = field(default_factory=list)
    webhook_gateway: dict[str, float] = field(default_factory=dict)
    webhook_bare: dict[str, float] = field(default_factory=dict)
    webhook_storage: float = 0.0
    twilio_in_flight: int = 0
    import_app: float = 0.0
    import_functions: float = 0.0
    with_events: bool = True
    # Per events configuration (e.g. "default to a webhook"): its runs, and events delivered.
    events: dict[str, list[GatewayRun]] = field(default_factory=dict)
    events_delivered: dict[str, int] = field(default_factory=dict)


class Bench:
    def __init__(self, figures: Figures, workdir: Path, app_source: Path) -> None:
        self.figures = figures
        self.workdir = workdir
        self.app_source = app_source
        self.token = secrets.token_hex(3)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=60)
        with Azurite() as azurite:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                self.http = http
                sim_port = free_port()
                self.sim_url = f"http://127.0.0.1:{sim_port}"
                tables = _Proxy(f"http://127.0.0.1:{azurite.table_port}", "table", self.workdir)
                queues = _Proxy(f"http://127.0.0.1:{azurite.queue_port}", "queue", self.workdir)
                twilio = _Proxy(self.sim_url, "name", self.workdir, TWILIO_LATENCY_SECONDS)
                self.proxies, self.twilio_proxy = (tables, queues), twilio
                with tables, queues, twilio:
                    storage = _through(
                        azurite.connection_string,
                        f"{tables.base_url}/devstoreaccount1",
                        f"{queues.base_url}/devstoreaccount1",
                    )
                    await self._with_gateway(storage, sim_port)
                    if self.figures.with_events:
                        await self._with_events(storage, sim_port)
                    await self._with_bare_app(azurite.connection_string)
                    await self._senders()

    def _stack(
        self, storage: str, sim_port: int, name: str, extra: dict[str, str] | None = None
    ) -> Stack:
        host_port = free_port()
        self.host_url = f"http://127.0.0.1:{host_port}"
        settings = {
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "AzureWebJobsStorage": storage,
            "OUTBOUND_QUEUE": "outbound",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": self.twilio_proxy.base_url,
            "PUBLIC_BASE_URL": self.host_url,
            "SMS_AUTO_REPLY": "Thanks, we got your message.",
            "SIM_CALLBACK_DELAY": "0.05",
            "EVENTS_QUEUE": f"events-{name}",
            # The host fills what is not set from local.settings.json.example, which points
            # at make dev's stand-ins: events off unless a configuration says otherwise.
            **dict.fromkeys(soak_events.DESTINATION_SETTINGS, ""),
            **(extra or {}),
        }
        app_dir = self.workdir / name
        app_dir.mkdir()
        return Stack(
            app_dir=_app_copy(self.app_source, app_dir),
            host_port=host_port,
            settings=settings,
            function_key=FUNCTION_KEY,
            log_dir=self.workdir / f"logs-{name}",
            simulator_port=sim_port,
        )

    async def _with_events(self, storage: str, sim_port: int) -> None:
        """Each events configuration on its own stack, after events off (``_with_gateway``)."""
        with e2e_events.stand_ins(self.workdir) as (receiver, grid):
            for label, extra, per_sms in e2e_events.configurations(receiver, grid):
                stack = self._stack(storage, sim_port, e2e_events.slug(label), extra)
                await asyncio.to_thread(stack.start)
                try:
                    host_pid = stack.pid("host")
                    delivered = e2e_events.Delivered(receiver, grid, self.http)
                    before = await delivered.count()
                    await self._gateway_run(host_pid, 20, f"{label}-warmup", delivered, per_sms)
                    runs = self.figures.events.setdefault(label, [])
                    for run in range(self.figures.runs):
                        runs.append(
                            await self._gateway_run(
                                host_pid, self.figures.messages, f"{label}-{run}", delivered,
                                per_sms,
                            )
                        )  # fmt: skip
                    self.figures.events_delivered[label] = await delivered.count() - before
                finally:
                    await asyncio.to_thread(stack.stop)

    async def _with_gateway(self, storage: str, sim_port: int) -> None:
        stack = self._stack(storage, sim_port, "gateway")
        await asyncio.to_thread(stack.start)
        try:
            host_pid = stack.pid("host")
            await self._gateway_run(host_pid, 20, "warmup")
            for run in range(self.figures.runs):
                self.figures.gateway.append(
                    await self._gateway_run(host_pid, self.figures.messages, f"run{run}")
                )
            twilio = await self.twilio_proxy.stats(self.http)
            self.figures.twilio_in_flight = int(twilio["max_in_flight"])
            before, _ = await self._storage_counts()
            self.figures.webhook_gateway = await self._webhook(self.host_url)
            during, _ = await self._storage_counts()
            during.subtract(before)
            webhooks = WEBHOOK_REQUESTS * self.figures.runs + WEBHOOK_WARMUP
            self.figures.webhook_storage = sum(during.values()) / webhooks
        finally:
            await asyncio.to_thread(stack.stop)

    async def _storage_counts(self) -> tuple[Counter[str], float]:
        """Requests so far by name, and the seconds they took at Azurite, summed."""
        counts: Counter[str] = Counter()
        seconds = 0.0
        for proxy in self.proxies:
            stats = await proxy.stats(self.http)
            counts.update(stats["requests"])
            seconds += sum(stats["upstream_seconds"].values())
        return counts, seconds

    async def _created(self) -> int:
        return int((await self.twilio_proxy.stats(self.http))["requests"].get(CREATED, 0))

    async def _gateway_run(
        self,
        host_pid: int,
        messages: int,
        label: str,
        delivered: e2e_events.Delivered | None = None,
        events_per_sms: float = 0.0,
    ) -> GatewayRun:
        marker = f"bench-{self.token}-{e2e_events.slug(label)}"
        events_before = await delivered.count() if delivered is not None else 0
        created = await self._created() + messages
        storage_before, storage_seconds_before = await self._storage_counts()
        cpu_before = cpu_seconds(host_pid)
        started = time.perf_counter()
        await self._post_all(messages, marker)
        accepted = time.perf_counter() - started
        deadline = started + PATIENCE_SECONDS
        while await self._created() < created:
            if time.perf_counter() > deadline:
                raise BenchmarkError(f"{label}: not every message reached Twilio")
            await asyncio.sleep(0.02)
        sent = time.perf_counter() - started
        await self._sim_idle()
        if delivered is not None:
            await delivered.wait_for(events_before + int(messages * events_per_sms), deadline)
        seconds = time.perf_counter() - started
        await asyncio.sleep(1.0)  # the worker's last writes and queue deletes
        cpu = cpu_seconds(host_pid) - cpu_before
        storage, storage_seconds = await self._storage_counts()
        storage.subtract(storage_before)
        storage_seconds -= storage_seconds_before
        await self._check_delivered(marker, messages)
        return GatewayRun(messages, accepted, sent, seconds, cpu, +storage, storage_seconds)

    async def _post_all(self, messages: int, marker: str) -> None:
        pending = iter(range(messages))
        url = f"{self.host_url}/api/messages"
        headers = {"x-functions-key": FUNCTION_KEY}

        async def poster() -> None:
            for index in pending:
                document = {"to": f"+1555{index:07d}", "body": f"{marker} {index}"}
                async with self.http.post(url, json=document, headers=headers) as answer:
                    if answer.status != 202:
                        raise BenchmarkError(f"API answered {answer.status}: {await answer.text()}")

        await asyncio.gather(*(poster() for _ in range(POSTERS)))

    async def _sim_idle(self) -> None:
        async with self.http.get(f"{self.sim_url}/_sim/idle?timeout=50") as answer:
            if answer.status != 200:
                raise BenchmarkError("the simulator still had callbacks pending")

    async def _check_delivered(self, marker: str, messages: int) -> None:
        """Delivered means Twilio said so and the gateway took every status callback."""
        async with self.http.get(f"{self.sim_url}/_sim/messages") as answer:
            resources = (await answer.json())["messages"]
        delivered = [
            resource
            for resource in resources
            if str(resource.get("body", "")).startswith(marker)
            and resource.get("status") == "delivered"
            and all(200 <= int(cb.get("status") or 0) < 300 for cb in resource["callbacks"])
            and resource["callbacks"]
        ]
        if len(delivered) != messages:
            raise BenchmarkError(f"{marker}: {len(delivered)} of {messages} delivered")

    async def _webhook(self, base_url: str) -> dict[str, float]:
        """Each percentile's median over the runs: one run's p99 is a handful of requests."""
        warmup = e2e_webhooks.signed_requests(base_url, AUTH_TOKEN, FROM_NUMBER, WEBHOOK_WARMUP)
        await e2e_webhooks.latencies(base_url, warmup)
        runs: list[dict[str, float]] = []
        for run in range(self.figures.runs):
            start = WEBHOOK_WARMUP + run * WEBHOOK_REQUESTS
            signed = e2e_webhooks.signed_requests(
                base_url, AUTH_TOKEN, FROM_NUMBER, WEBHOOK_REQUESTS, start
            )
            runs.append(e2e_webhooks.percentiles(await e2e_webhooks.latencies(base_url, signed)))
        return {key: _median([figures[key] for figures in runs]) for key in runs[0]}

    async def _with_bare_app(self, storage: str) -> None:
        host_port = free_port()
        stack = Stack(
            app_dir=e2e_webhooks.write_bare_app(self.workdir / "bare"),
            host_port=host_port,
            settings={"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsStorage": storage},
            log_dir=self.workdir / "logs-bare",
        )
        await asyncio.to_thread(stack.start)
        try:
            self.figures.webhook_bare = await self._webhook(f"http://127.0.0.1:{host_port}")
        finally:
            await asyncio.to_thread(stack.stop)

    async def _senders(self) -> None:
        """The simulator alone (started by a stack without a host) behind the same proxy."""
        env = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
        sim = _SimulatorOnly(int(self.sim_url.rsplit(":", 1)[1]), env, self.workdir)
        await asyncio.to_thread(sim.start)
        try:
            target = e2e_senders.TwilioTarget(
                self.twilio_proxy.base_url, ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
            )
            figures = self.figures
            naive = min(figures.messages, NAIVE_MESSAGES)
            figures.naive.append(await asyncio.to_thread(e2e_senders.naive, target, naive))
            for _ in range(figures.runs):
                figures.concurrent.append(
                    await asyncio.to_thread(e2e_senders.concurrent, target, figures.messages)
                )
                figures.ceiling.append(await e2e_senders.ceiling(target, figures.messages))
        finally:
            await asyncio.to_thread(sim.stop)


class _Proxy:
    """``localdev.fault_proxy`` as its own process (as remote services are), counting."""

    def __init__(
        self, upstream: str, count: str, workdir: Path, latency_seconds: float = 0.0
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable, "-m", "localdev.fault_proxy",
            "--upstream", upstream, "--port", str(self.port),
            "--count", count, "--latency", str(latency_seconds),
        ]  # fmt: skip
        self.log_path = workdir / f"proxy-{count}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _Proxy:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.args, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None:
            stop_process(self._process, timeout=10)

    async def stats(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.get(f"{self.base_url}/_proxy/stats") as answer:
            stats: dict[str, Any] = await answer.json()
            return stats


class _SimulatorOnly(Stack):
    """A stack whose only part is the simulator: the senders need no host."""

    def __init__(self, port: int, settings: dict[str, str], workdir: Path) -> None:
        super().__init__(settings=settings, simulator_port=port, log_dir=workdir / "logs-sim")

    def start_host(self) -> None:
        return None


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(figures: Figures) -> list[str]:
    runs = figures.gateway
    gateway = _median([run.messages / run.seconds for run in runs])
    naive, concurrent = _median(figures.naive), _median(figures.concurrent)
    ceiling = _median(figures.ceiling)
    storage: Counter[str] = Counter()
    for run in runs:
        storage.update(run.storage)
    delivered = sum(run.messages for run in runs)
    per_sms = {name: count / delivered for name, count in storage.items()}
    by_service = {"table": 0.0, "queue": 0.0}
    for name, value in per_sms.items():
        service = name.split(" ", 1)[0]
        by_service[service] = by_service.get(service, 0.0) + value
    cpu_ms = _median([run.cpu_seconds / run.messages * 1000 for run in runs])
    busy = _median([run.cpu_seconds / run.seconds * 100 for run in runs])
    accepted = _median([run.messages / run.accepted_seconds for run in runs])
    sent = _median([run.messages / run.sent_seconds for run in runs])
    round_trip = sum(run.storage_seconds for run in runs) / max(1, sum(storage.values()))
    hook, bare = figures.webhook_gateway, figures.webhook_bare
    lines = [
        f"end to end, {figures.messages} SMS, Twilio +{TWILIO_LATENCY_SECONDS * 1000:.0f} ms per "
        f"REST call, medians of {figures.runs} (naive sender: {len(figures.naive)} run of "
        f"{min(figures.messages, NAIVE_MESSAGES)})",
        "",
        "| measure | value |",
        "|---|---|",
        f"| gateway throughput, API accept -> delivered | {gateway:.1f} SMS/s |",
        f"| of which: all accepted by the API / all sent to Twilio | "
        f"{accepted:.1f} / {sent:.1f} SMS/s |",
        f"| naive sender (sync loop, new Client per message) | {naive:.1f} SMS/s |",
        f"| concurrent sender ({IN_FLIGHT} threads, one Client) | {concurrent:.1f} SMS/s |",
        f"| simulator ceiling ({IN_FLIGHT} in flight) | {ceiling:.1f} SMS/s |",
        f"| gateway / naive | {gateway / naive:.2f}x |",
        f"| gateway / concurrent sender | {gateway / concurrent:.2f}x |",
        f"| gateway / ceiling | {gateway / ceiling:.2f} |",
        f"| storage requests per delivered SMS (table {by_service['table']:.2f}, "
        f"queue {by_service['queue']:.2f}) | {sum(per_sms.values()):.2f} |",
        f"| host CPU per delivered SMS | {cpu_ms:.1f} ms |",
        f"| host CPU while sending (100% = one core) | {busy:.0f}% |",
        f"| most Twilio requests in flight from the gateway | {figures.twilio_in_flight} |",
        f"| mean storage round trip at the proxy (Azurite) | {round_trip * 1000:.1f} ms |",
        f"| signed inbound-SMS webhook p50 / p95 / p99, {e2e_webhooks.CLIENTS} clients | "
        f"{hook['p50'] * 1000:.0f} / {hook['p95'] * 1000:.0f} / {hook['p99'] * 1000:.0f} ms |",
        f"| bare FunctionApp, static TwiML, p50 / p95 / p99 | "
        f"{bare['p50'] * 1000:.0f} / {bare['p95'] * 1000:.0f} / {bare['p99'] * 1000:.0f} ms |",
        f"| webhook p99 / bare p99 | {hook['p99'] / bare['p99']:.1f}x |",
        f"| storage requests per signed inbound-SMS webhook | {figures.webhook_storage:.2f} |",
        f"| cold `import function_app` / `import azure.functions` | "
        f"{figures.import_app * 1000:.0f} / {figures.import_functions * 1000:.0f} ms = "
        f"{figures.import_app / figures.import_functions:.2f}x |",
        "",
        "storage requests per delivered SMS, by service, table or queue, and operation:",
        "",
        "| service | name | operation | per SMS |",
        "|---|---|---|---|",
    ]
    for name, value in sorted(per_sms.items(), key=lambda item: (item[0].split()[0], -item[1])):
        service, resource, operation = name.split(" ", 2)
        lines.append(f"| {service} | {resource} | {operation} | {value:.2f} |")
    return lines


def measure(
    messages: int,
    runs: int,
    workdir: Path | None = None,
    app_source: Path = PROJECT_ROOT,
    with_events: bool = True,
) -> Figures:
    """``workdir`` keeps the app copies and the processes' logs; by default they are removed.
    ``app_source`` is the app measured, e.g. an older commit's ``git archive``."""
    figures = Figures(messages=messages, runs=runs, with_events=with_events)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        asyncio.run(Bench(figures, workdir, app_source).run())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as temporary:
            asyncio.run(Bench(figures, Path(temporary), app_source).run())
    figures.import_app = median_seconds("import function_app", IMPORT_RUNS, app_source)
    figures.import_functions = median_seconds("import azure.functions", IMPORT_RUNS, app_source)
    return figures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.end_to_end", description=__doc__)
    parser.add_argument("--messages", type=int, default=500, help="SMS per gateway run")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs per measure; the naive sender runs once"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="keep apps and logs here")
    parser.add_argument(
        "--app-source", type=Path, default=PROJECT_ROOT, help="the app to measure; default: ."
    )
    parser.add_argument("--no-events", action="store_true", help="skip the events-out runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    figures = measure(
        args.messages, args.runs, args.workdir, args.app_source, with_events=not args.no_events
    )
    for line in table(figures):
        print(line)
    if figures.events:
        print()
        for line in e2e_events.table(figures.gateway, figures.events, figures.events_delivered):
            print(line)


if __name__ == "__main__":
    main()
