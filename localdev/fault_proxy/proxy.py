"""Forwards every request to an upstream and, for a share of creates, fails the way networks
and Twilio fail: refused before anything happens (429, 500, 503), accepted and then answered
500, accepted and then silent past the client's timeout, accepted and then the connection
dropped. Latency can be added to every request. Nothing here knows what a message is.

Two of Twilio's bad days are not dice but states: an outage (every request answered 503, or
429, for a stretch: ``outage()`` or ``POST /_proxy/outage {"status": 503, "seconds": 600}``)
and a concurrency limit (``concurrency_limit``: a request beyond that many in flight is
answered 429 with Twilio's code 20429, as Twilio limits an account's concurrent requests).

With a ``classify`` function it also counts every answered request under the name it gives
(see ``localdev.storage_requests``): in front of Azurite, that is what an app costs in storage
transactions, counted outside the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from localdev.aiohttp_server import AiohttpServer

# Each fault: (answer before forwarding?, HTTP status or None for no answer at all).
FAULTS: dict[str, tuple[bool, int | None]] = {
    "429": (True, 429),
    "500": (True, 500),
    "503": (True, 503),
    "created_then_500": (False, 500),
    "created_then_hang": (False, None),
    "created_then_drop": (False, None),
}
_CODES = {429: 20429, 500: 20500, 503: 20503}
TAKEN_KEPT = 200_000
# (method, path, query, headers) -> the name a request is counted under.
Classifier = Callable[[str, str, Mapping[str, str], Mapping[str, str]], str]
_NOT_ADDED = frozenset({"Content-Type", "Accept-Encoding"})
_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

log = logging.getLogger("localdev.fault_proxy")


@dataclass(frozen=True)
class ProxyConfig:
    upstream: str
    fault_rate: float = 0.0
    faults: tuple[str, ...] = tuple(FAULTS)
    latency_seconds: float = 0.0
    hang_seconds: float = 30.0
    seed: int | None = None
    # Which requests may be faulted: POSTs whose path ends with one of these.
    fault_paths: tuple[str, ...] = ("/Messages.json", "/Calls.json")
    classify: Classifier | None = None
    # Requests in flight (latency included) beyond which the answer is 429 / 20429.
    concurrency_limit: int | None = None


@dataclass
class ProxyStats:
    forwarded: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)
    # Seconds of upstream round trips per classified name; requests handled at once.
    upstream_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    in_flight: int = 0
    max_in_flight: int = 0
    # Creates the upstream took, and when the first and the last of them came (monotonic).
    created: int = 0
    first_created: float | None = None
    last_created: float | None = None
    # When each request the upstream answered below 400 came back (monotonic).
    taken_at: deque[float] = field(default_factory=lambda: deque(maxlen=TAKEN_KEPT))
    # How long those took, latency included: Twilio's latency as the sender meets it.
    taken_seconds: float = 0.0
    taken: int = 0

    def mean_latency(self) -> float | None:
        return self.taken_seconds / self.taken if self.taken else None

    def as_json(self) -> dict[str, Any]:
        return {
            "forwarded": self.forwarded,
            "faults": dict(self.faults),
            "requests": dict(self.requests),
            "upstream_seconds": dict(self.upstream_seconds),
            "max_in_flight": self.max_in_flight,
            "created": self.created,
            "created_per_second": self.created_per_second(),
            "taken": self.taken,
            "taken_at": list(self.taken_at),
            "mean_latency": self.mean_latency(),
        }

    def created_per_second(self) -> float | None:
        if self.first_created is None or self.last_created is None or self.created < 2:
            return None
        span = self.last_created - self.first_created
        return (self.created - 1) / span if span > 0 else None


class FaultProxy(AiohttpServer):
    what = "fault proxy"

    def __init__(self, config: ProxyConfig, *, host: str = "127.0.0.1", port: int = 0) -> None:
        unknown = set(config.faults) - set(FAULTS)
        if unknown or not 0.0 <= config.fault_rate <= 1.0:
            raise ValueError(f"faults must be among {sorted(FAULTS)}, rate within 0..1")
        if config.concurrency_limit is not None and config.concurrency_limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.config = config
        self.stats = ProxyStats()
        self._outage_status = 503
        self._outage_until = 0.0
        self._forwarding = 0
        self._rng = random.Random(config.seed)  # noqa: S311 - fault dice, not security
        self._session: aiohttp.ClientSession | None = None
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/_proxy/stats", self._stats)
        app.router.add_post("/_proxy/outage", self._start_outage)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        app.on_cleanup.append(self._close_session)
        super().__init__(app, host=host, port=port, access_log=None)

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.as_json())

    def outage(self, status: int, seconds: float) -> None:
        """From now on, for ``seconds``, every request is answered ``status`` (503 or 429)."""
        if status not in _CODES:
            raise ValueError(f"an outage answers one of {sorted(_CODES)}, not {status}")
        self._outage_status = status
        self._outage_until = time.monotonic() + seconds

    @property
    def in_outage(self) -> bool:
        return time.monotonic() < self._outage_until

    async def _start_outage(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            self.outage(int(payload.get("status", 503)), float(payload["seconds"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            message = f'expected {{"status": 503|429|500, "seconds": N}}: {exc}'
            return web.json_response({"error": message}, status=400)
        return web.json_response({"status": self._outage_status, "until": self._outage_until})

    async def _close_session(self, app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    def _pick_fault(self, request: web.Request) -> str | None:
        if request.method != "POST" or not request.path.endswith(self.config.fault_paths):
            return None
        if self._rng.random() >= self.config.fault_rate:
            return None
        return self._rng.choice(self.config.faults)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await self._handle(request)
        finally:
            stats.in_flight -= 1

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.in_outage:
            self.stats.faults[f"outage_{self._outage_status}"] += 1
            return _twilio_error(self._outage_status)
        limit = self.config.concurrency_limit
        if limit is not None and self._forwarding >= limit:
            self.stats.faults["over_concurrency"] += 1
            return _twilio_error(429, "Too Many Requests: concurrency limit exceeded")
        self._forwarding += 1
        started = time.monotonic()
        try:
            response = await self._pass(request)
        finally:
            self._forwarding -= 1
        if response.status < 400:
            self.stats.taken_seconds += time.monotonic() - started
            self.stats.taken += 1
        return response

    async def _pass(self, request: web.Request) -> web.StreamResponse:
        if self.config.latency_seconds:
            await asyncio.sleep(self.config.latency_seconds)
        fault = self._pick_fault(request)
        if fault is not None:
            self.stats.faults[fault] += 1
            before, status = FAULTS[fault]
            if before and status is not None:
                return _twilio_error(status)
        upstream = await self._upstream(request)
        if fault == "created_then_500":
            return _twilio_error(500)
        if fault == "created_then_hang":
            await asyncio.sleep(self.config.hang_seconds)
            return _twilio_error(504)
        if fault == "created_then_drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=502)
        return upstream

    async def _upstream(self, request: web.Request) -> web.Response:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        try:
            body = await request.read()
        except ConnectionResetError:
            # The sender is gone (a host killed mid-request): nothing to forward, nobody to answer.
            log.info("sender gone before its request arrived: %s %s", request.method, request.path)
            return web.Response(status=400, text="the request's body never arrived")
        # Byte for byte, so that signed requests (Azure Storage's Shared Key) stay valid.
        url = URL(self.config.upstream.rstrip("/") + request.raw_path, encoded=True)
        started = time.perf_counter()
        async with self._session.request(
            request.method,
            url,
            headers=headers,
            data=body or None,
            allow_redirects=False,
            skip_auto_headers=_NOT_ADDED,
        ) as answer:
            payload = await answer.read()
            self.stats.forwarded += 1
            if self.config.classify is not None:
                name = self.config.classify(
                    request.method, request.path, request.query, request.headers
                )
                self.stats.requests[name] += 1
                self.stats.upstream_seconds[name] += time.perf_counter() - started
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
            if answer.status < 400:
                self.stats.taken_at.append(time.monotonic())
            if answer.status == 201 and request.path.endswith(self.config.fault_paths):
                self._count_created()
            return web.Response(status=answer.status, body=payload, headers=out)

    def _count_created(self) -> None:
        now = time.monotonic()
        stats = self.stats
        stats.created += 1
        stats.first_created = stats.first_created if stats.first_created is not None else now
        stats.last_created = now


def _twilio_error(status: int, message: str = "Injected by the fault proxy") -> web.Response:
    code = _CODES.get(status, 20500)
    body = {
        "code": code,
        "message": message,
        "more_info": "",
        "status": status,
    }
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
