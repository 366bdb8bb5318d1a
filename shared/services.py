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

from shared.message_index import MessageIndex
from shared.message_log import MessageLog
from shared.opt_outs import OptOutRegistry
from shared.settings import Settings, get_settings
from shared.sid_owners import SidOwners

if TYPE_CHECKING:
    from shared.twilio_sender import TwilioSender


@dataclass
class Services:
    settings: Settings
    tables: TableServiceClient
    queue: QueueClient
    log: MessageLog
    opt_outs: OptOutRegistry
    sids: SidOwners
    index: MessageIndex
    _sender: TwilioSender | None = field(default=None, init=False)

    def sender(self) -> TwilioSender:
        if self._sender is None:
            from shared.twilio_sender import TwilioSender

            self._sender = TwilioSender(self.settings)
        return self._sender

    def use_sender(self, sender: TwilioSender) -> None:
        """Replace the Twilio sender, e.g. with one whose ``http_client`` is a test double."""
        self._sender = sender

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender.close()
        await self.queue.close()
        await self.tables.close()


_services: Services | None = None
_lock = asyncio.Lock()


async def _create(settings: Settings) -> Services:
    settings.require("storage")
    # No proxy or netrc lookups from the environment on every request: they cost a thread hop.
    tables = TableServiceClient.from_connection_string(
        settings.storage_connection, use_env_settings=False
    )
    queue = QueueClient.from_connection_string(
        settings.storage_connection, settings.outbound_queue, use_env_settings=False
    )
    try:
        log_table = await tables.create_table_if_not_exists(settings.message_log_table)
        opt_out_table = await tables.create_table_if_not_exists(settings.opt_out_table)
        index_table = await tables.create_table_if_not_exists(settings.message_index_table)
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
    except BaseException:
        await queue.close()
        await tables.close()
        raise
    return Services(
        settings,
        tables,
        queue,
        MessageLog(log_table),
        OptOutRegistry(opt_out_table),
        SidOwners(log_table),
        MessageIndex(index_table),
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
