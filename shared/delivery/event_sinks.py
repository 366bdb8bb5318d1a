"""A destination as the publisher sees it: events in, one outcome per group of them.

The adapters (``shared.publish``) speak one request at a time: Event Grid takes a batch
within 1 MB, a webhook one event. A sink sends every event it is given and says what
became of each, so the publisher retries, switches off or dead-letters exactly those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from shared.publish.outcome import Outcome

Event = Mapping[str, Any]
Results = list[tuple[list[Event], Outcome]]
# A message holds up to 200 signals: at 15 s a hung request, 32 at once keep a hung receiver
# within the function timeout.
WEBHOOKS_IN_FLIGHT = 32


class GridPublisher(Protocol):
    def batches(self, events: Sequence[Event]) -> list[list[Event]]: ...

    async def publish(self, batch: Sequence[Event]) -> Outcome: ...


class HookSender(Protocol):
    async def send(self, url: str, event: Event, secrets: Sequence[str]) -> Outcome: ...


class Sink(Protocol):
    async def deliver(self, events: Sequence[Event]) -> Results: ...


class GridSink:
    def __init__(self, publisher: GridPublisher) -> None:
        self._publisher = publisher

    async def deliver(self, events: Sequence[Event]) -> Results:
        batches = self._publisher.batches(events)
        outcomes = await asyncio.gather(*(self._publisher.publish(batch) for batch in batches))
        return [(list(batch), outcome) for batch, outcome in zip(batches, outcomes, strict=True)]


class HookSink:
    """One request per event, a few at once, in the record's order within the few."""

    def __init__(self, sender: HookSender, url: str, secrets: Sequence[str]) -> None:
        self._sender = sender
        self._url = url
        self._secrets = tuple(secrets)

    async def deliver(self, events: Sequence[Event]) -> Results:
        limit = asyncio.Semaphore(WEBHOOKS_IN_FLIGHT)

        async def one(event: Event) -> Outcome:
            async with limit:
                return await self._sender.send(self._url, event, self._secrets)

        outcomes = await asyncio.gather(*(one(event) for event in events))
        return [([event], outcome) for event, outcome in zip(events, outcomes, strict=True)]
