"""The per-process clients: created on first use, inside the running event loop, then reused.

Creating a Table, Queue or Twilio client per invocation would pay connection set-up on
every request. Tables and the queue are created if missing, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueClient

from shared.delivery.event_services import EventServices, create_event_services
from shared.delivery.pacing import AdaptiveLimit
from shared.delivery.retry_policy import RetryPolicy
from shared.delivery.status_counts import CountedLog
from shared.domain.number_keys import number_key
from shared.domain.transitions import fold_callback
from shared.platform.group_commit import GroupCommit
from shared.platform.settings import Settings, get_settings
from shared.storage.message_index import MessageIndex
from shared.storage.message_log import MessageLog
from shared.storage.message_stats import MessageStats
from shared.storage.opt_outs import OptOutRegistry
from shared.storage.retention_store import RetentionStore
from shared.storage.sid_owners import SidOwners

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from shared.twilio.sender import TwilioSender


@dataclass
class Services:
    settings: Settings
    tables: TableServiceClient
    queue: QueueClient
    log: MessageLog
    opt_outs: OptOutRegistry
    sids: SidOwners
    index: MessageIndex
    stats: MessageStats
    credential: AsyncTokenCredential | None = None
    # Events out: None when no destination is configured (nothing signalled, read or sent).
    events: EventServices | None = None
    check_batches: dict[int, GroupCommit[str]] = field(default_factory=dict)
    # Twilio requests in flight from this process: sends, reconciliations, status checks.
    pacing: AdaptiveLimit = field(default_factory=lambda: AdaptiveLimit(24))
    _sender: TwilioSender | None = field(default=None, init=False)
    _retention: RetentionStore | None = field(default=None, init=False)

    async def retention(self) -> RetentionStore:
        """Only the purge and the erasure use this table: created on their first use."""
        if self._retention is None:
            table = await self.tables.create_table_if_not_exists(self.settings.retention_table)
            self._retention = RetentionStore(table)
        return self._retention

    def sender(self) -> TwilioSender:
        if self._sender is None:
            from shared.twilio.sender import TwilioSender

            self._sender = TwilioSender(self.settings)
        return self._sender

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy.from_settings(self.settings)

    def use_sender(self, sender: TwilioSender) -> None:
        """Replace the Twilio sender, e.g. with one whose ``http_client`` is a test double."""
        self._sender = sender

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender.close()
        if self.events is not None:
            await self.events.close()
        await self.queue.close()
        await self.tables.close()
        if self.credential is not None:
            await self.credential.close()


_services: Services | None = None
_lock = asyncio.Lock()


async def _create(settings: Settings) -> Services:
    settings.require("storage")
    storage = settings.storage_connection
    credential = storage.credential() if storage.identity_based else None
    tables = storage.table_service(credential)
    queue = storage.queue(settings.outbound_queue, credential)
    events: EventServices | None = None
    try:
        log_table = await tables.create_table_if_not_exists(settings.message_log_table)
        opt_out_table = await tables.create_table_if_not_exists(settings.opt_out_table)
        index_table = await tables.create_table_if_not_exists(settings.message_index_table)
        stats_table = await tables.create_table_if_not_exists(settings.message_stats_table)
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        if settings.events.configured:
            events_queue = storage.queue(settings.events.queue, credential)
            try:
                events = await create_event_services(settings, tables, events_queue, credential)
            except BaseException:
                await events_queue.close()
                raise
    except BaseException:
        await queue.close()
        await tables.close()
        if credential is not None:
            await credential.close()
        raise

    def key_of(number: str) -> str:
        return number_key(settings.number_hash_key, number)

    stats = MessageStats(stats_table)
    before_write = events.signals.before_write if events is not None else None
    log: MessageLog = CountedLog(log_table, fold_callback, stats, before_write)
    return Services(
        settings,
        tables,
        queue,
        log,
        OptOutRegistry(opt_out_table, key_of),
        SidOwners(log_table),
        MessageIndex(index_table, key_of),
        stats,
        credential,
        events,
        pacing=AdaptiveLimit(settings.twilio_max_in_flight),
    )


async def get_services() -> Services:
    global _services
    if _services is None:
        async with _lock:
            if _services is None:
                _services = await _create(get_settings())
    return _services


async def reset_services() -> None:
    """Close and forget the clients, so the next call reads settings again (tests, reloads)."""
    global _services
    if _services is not None:
        await _services.close()
    _services = None
    get_settings.cache_clear()
