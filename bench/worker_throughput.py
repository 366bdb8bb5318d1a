"""How many sends per second one worker instance sustains, concurrent vs one at a time.

The worker is I/O bound: each send is a claim, a Twilio POST and a result write. With
``batchSize + newBatchThreshold`` invocations in flight (what the host runs at once), the
instance should approach that many times the sequential rate. Storage is a real Azurite;
Twilio is a transport that answers after a fixed latency, like the real API's round trip.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
from typing import Any

from twilio.http import AsyncHttpClient
from twilio.http.response import Response

from bench.e2e_senders import worker_concurrency
from localdev.azurite import Azurite
from shared.delivery.services import get_services, reset_services
from shared.handlers import worker
from shared.twilio.sender import TwilioSender

TWILIO_LATENCY_SECONDS = 0.1
SENDS = 96
IN_FLIGHT = worker_concurrency()


class SlowTwilio(AsyncHttpClient):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(logging.getLogger("bench"), True, None)

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        await asyncio.sleep(TWILIO_LATENCY_SECONDS)
        sid = "SM" + secrets.token_hex(16)
        return Response(201, json.dumps({"sid": sid, "status": "queued"}))


def _message(index: int, run: str) -> Any:
    from azure.functions.queue import QueueMessage

    document = {"kind": "sms", "id": f"{run}-{index}", "to": "+15551234567", "body": "bench"}
    return QueueMessage(id=str(index), body=json.dumps(document).encode(), dequeue_count=1)  # type: ignore[no-untyped-call]


async def _run(concurrency: int) -> float:
    run = secrets.token_hex(4)
    messages = [_message(index, run) for index in range(SENDS)]
    limit = asyncio.Semaphore(concurrency)

    async def one(message: Any) -> None:
        async with limit:
            await worker.process(message)

    started = time.perf_counter()
    await asyncio.gather(*(one(message) for message in messages))
    return SENDS / (time.perf_counter() - started)


async def measure(connection_string: str) -> dict[str, float]:
    os.environ.update(
        AzureWebJobsStorage=connection_string,
        TWILIO_ACCOUNT_SID="AC" + "b" * 32,
        TWILIO_AUTH_TOKEN="bench",
        TWILIO_FROM_NUMBER="+15005550006",
        MESSAGE_LOG_TABLE=f"Bench{secrets.token_hex(3)}",
    )
    await reset_services()
    services = await get_services()
    services.use_sender(TwilioSender(services.settings, http_client=SlowTwilio()))
    await _run(4)  # warm up connections and tables
    sequential = await _run(1)
    concurrent = await _run(IN_FLIGHT)
    await reset_services()
    return {"sequential": sequential, "concurrent": concurrent}


def main() -> None:
    logging.getLogger("gateway").setLevel(logging.WARNING)
    with Azurite() as azurite:
        figures = asyncio.run(measure(azurite.connection_string))
    print(
        f"worker throughput, {SENDS} sends, Twilio latency {TWILIO_LATENCY_SECONDS * 1000:.0f} ms"
    )
    print(f"  one at a time (baseline): {figures['sequential']:8.1f} sends/s")
    print(f"  {IN_FLIGHT} in flight:            {figures['concurrent']:8.1f} sends/s")
    print(f"  ratio:                    {figures['concurrent'] / figures['sequential']:8.1f}x")


if __name__ == "__main__":
    main()
