"""The baselines the gateway is compared with: ways to send SMS without it.

All of them go through the same latency proxy to the same simulator as the gateway does.
The naive sender is Twilio's classic sample in a loop (a new ``Client`` per message); the
concurrent sender is what a careful engineer writes (24 threads sharing one client and its
connection pool); the ceiling is the simulator itself at 24 requests in flight, with a client
that costs next to nothing, so the gateway's overhead shows against it. 24 is the worker's own
concurrency: ``batchSize + newBatchThreshold`` in ``host.json``.
"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aiohttp
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from twilio.rest import Client

from localdev.azurite import PROJECT_ROOT


def worker_concurrency() -> int:
    """The most queue messages the host runs at once, from the app's ``host.json``."""
    queues = json.loads((PROJECT_ROOT / "host.json").read_text())["extensions"]["queues"]
    return int(queues["batchSize"]) + int(queues["newBatchThreshold"])


IN_FLIGHT = worker_concurrency()


@dataclass(frozen=True)
class TwilioTarget:
    base_url: str
    account_sid: str
    auth_token: str
    from_number: str

    def client(self, pool_size: int = DEFAULT_POOLSIZE) -> Client:
        client = Client(self.account_sid, self.auth_token)
        client.api.base_url = self.base_url
        session = client.http_client.session
        if session is not None and pool_size > DEFAULT_POOLSIZE:
            session.mount("http://", HTTPAdapter(pool_maxsize=pool_size))
        return client


def _to(index: int) -> str:
    return f"+1555{index % 10_000_000:07d}"


def naive(target: TwilioTarget, messages: int) -> float:
    """Messages per second, one at a time, each with a new client."""
    started = time.perf_counter()
    for index in range(messages):
        client = target.client()
        client.messages.create(to=_to(index), from_=target.from_number, body="naive")
    return messages / (time.perf_counter() - started)


def concurrent(target: TwilioTarget, messages: int) -> float:
    """Messages per second from 24 threads sharing one client."""
    client = target.client(pool_size=IN_FLIGHT)

    def send(index: int) -> None:
        client.messages.create(to=_to(index), from_=target.from_number, body="threads")

    started = time.perf_counter()
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        list(pool.map(send, range(messages)))
    return messages / (time.perf_counter() - started)


async def ceiling(target: TwilioTarget, messages: int) -> float:
    """Messages per second the simulator answers with 24 creates always in flight."""
    url = f"{target.base_url}/2010-04-01/Accounts/{target.account_sid}/Messages.json"
    auth = {"Authorization": aiohttp.encode_basic_auth(target.account_sid, target.auth_token)}
    indexes = iter(range(messages))

    async def sender(http: aiohttp.ClientSession) -> None:
        for index in indexes:
            form = {"To": _to(index), "From": target.from_number, "Body": "ceiling"}
            async with http.post(url, data=form, headers=auth) as answer:
                answer.raise_for_status()
                await answer.read()

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(IN_FLIGHT)))
        return messages / (time.perf_counter() - started)
