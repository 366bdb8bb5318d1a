"""The per-process clients of events out, created with the others when some destination is
configured, and not at all when none is (then nothing is signalled, read or sent)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableServiceClient

from shared.delivery.event_routes import Routing
from shared.delivery.event_signals import EventSignals
from shared.delivery.event_sinks import GridPublisher, HookSender
from shared.platform.settings import Settings
from shared.storage.event_dead_letters import DeadLetterStore
from shared.storage.event_switches import EventSwitches

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.storage.queue.aio import QueueClient

# How long a process trusts its copy of the switched-off destinations (another instance may
# have switched one off since).
SWITCHES_SECONDS = 300.0


@dataclass
class EventServices:
    settings: Settings
    queue: QueueClient
    dead_letters: DeadLetterStore
    switches: EventSwitches
    routing: Routing
    signals: EventSignals
    credential: AsyncTokenCredential | None = None
    _grid: GridPublisher | None = field(default=None, init=False)
    _sender: HookSender | None = field(default=None, init=False)
    _off: set[str] | None = field(default=None, init=False)
    _off_read_at: float = field(default=0.0, init=False)
    _owned_credential: AsyncTokenCredential | None = field(default=None, init=False)

    def grid(self) -> GridPublisher:
        if self._grid is None:
            from shared.publish.event_grid import EventGridPublisher

            topic = self.settings.events.event_grid
            assert topic is not None
            credential = None
            if topic.key is None:
                credential = self.credential or self._identity()
            self._grid = EventGridPublisher(
                topic.endpoint,
                key=topic.key,
                credential=credential,
                namespace_topic=topic.namespace_topic,
            )
        return self._grid

    def _identity(self) -> AsyncTokenCredential:
        from azure.identity.aio import DefaultAzureCredential

        self._owned_credential = DefaultAzureCredential()
        return self._owned_credential

    def sender(self) -> HookSender:
        if self._sender is None:
            from shared.publish.webhook import WebhookSender

            self._sender = WebhookSender(allow_private_addresses=self.settings.local_stack)
        return self._sender

    def use_grid(self, grid: GridPublisher) -> None:
        self._grid = grid

    def use_sender(self, sender: HookSender) -> None:
        self._sender = sender

    async def off(self) -> set[str]:
        now = time.monotonic()
        if self._off is None or now - self._off_read_at > SWITCHES_SECONDS:
            self._off = await self.switches.off()
            self._off_read_at = now
        return self._off

    async def switch_off(self, key: str, name: str, reason: str) -> None:
        await self.switches.switch_off(key, name, reason)
        (await self.off()).add(key)

    async def close(self) -> None:
        for client in (self._grid, self._sender):
            close = getattr(client, "close", None)
            if close is not None:
                await close()
        if self._owned_credential is not None:
            await self._owned_credential.close()
        await self.queue.close()


async def create_event_services(
    settings: Settings,
    tables: TableServiceClient,
    queue: QueueClient,
    credential: AsyncTokenCredential | None,
) -> EventServices:
    events = settings.events
    dead = await tables.create_table_if_not_exists(events.dead_letter_table)
    switches = await tables.create_table_if_not_exists(events.destination_table)
    with contextlib.suppress(ResourceExistsError):
        await queue.create_queue()
    routing = Routing.from_settings(events)
    signals = EventSignals(queue, routing, events.signal_delay_seconds)
    return EventServices(
        settings,
        queue,
        DeadLetterStore(dead),
        EventSwitches(switches),
        routing,
        signals,
        credential,
    )
