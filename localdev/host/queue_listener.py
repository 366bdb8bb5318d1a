"""A queue trigger with the Storage queues extension's semantics, against a real queue.

Polling: up to batchSize messages per fetch; the next fetch waits until no more than
newBatchThreshold are still running; empty fetches back off exponentially from 100 ms to
maxPollingInterval. Received messages stay invisible while their function runs (the lease
is renewed at half its length). Success deletes; failure makes the message visible again
after visibilityTimeout, or moves it to `<queue>-poison` once maxDequeueCount is reached.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueClient

from localdev.host.discovery import FunctionSpec, QueueTrigger
from localdev.host.hostjson import MIN_POLLING_INTERVAL, QueueOptions
from localdev.host.invoker import Invoker
from localdev.host.outputs import OutputBindingError, QueueOutputs
from localdev.host.storage import (
    MessageDecodingError,
    decode_body,
    ensure_queue,
    queue_client,
)

log = logging.getLogger(__name__)

POISON_SUFFIX = "-poison"
DEFAULT_LEASE = timedelta(minutes=10)  # the host's fixed message lease, renewed while running


class Backoff:
    """The host's polling delay: from 100 ms, doubling on every empty poll, up to a ceiling."""

    def __init__(self, ceiling: timedelta) -> None:
        self._floor = MIN_POLLING_INTERVAL.total_seconds()
        self._ceiling = max(self._floor, ceiling.total_seconds())
        self._current = self._floor

    def next(self) -> float:
        delay = self._current
        self._current = min(self._current * 2, self._ceiling)
        return delay

    def reset(self) -> None:
        self._current = self._floor


@dataclass
class ListenerStats:
    polls: int = 0
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    poisoned: int = 0
    lease_renewals: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    waiting_for_capacity: bool = False
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class MessageLease:
    """Keeps one message hidden while its function runs, as the host's renewal timer does."""

    def __init__(
        self, client: QueueClient, message: QueueMessage, lease: timedelta, stats: ListenerStats
    ) -> None:
        self.message = message
        self._stats = stats
        self._client = client
        self._seconds = max(2, int(lease.total_seconds()))
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew())

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._seconds / 2)
            async with self._lock:
                try:
                    updated = await self._client.update_message(
                        self.message, visibility_timeout=self._seconds
                    )
                except AzureError:
                    log.warning("lost the lease on message %s", self.message.id, exc_info=True)
                    return
                self.message.pop_receipt = updated.pop_receipt
                self.message.next_visible_on = updated.next_visible_on
                self._stats.lease_renewals += 1

    async def stop(self) -> None:
        if self._task is None:
            return
        async with self._lock:
            self._task.cancel()
            await asyncio.wait([self._task])


class QueueListener:
    def __init__(
        self,
        spec: FunctionSpec,
        options: QueueOptions,
        invoker: Invoker,
        outputs: QueueOutputs,
        *,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        if not isinstance(spec.trigger, QueueTrigger):
            raise TypeError(f"{spec.name} is not queue-triggered")
        self.spec = spec
        self.trigger: QueueTrigger = spec.trigger
        self.options = options
        self.stats = ListenerStats()
        self._invoker = invoker
        self._outputs = outputs
        self._lease = lease
        self._client = queue_client(self.trigger.connection, self.queue_name)
        self._poison_client = queue_client(self.trigger.connection, self.poison_queue_name)
        self._stopping = False
        self._wake = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._receiving = False
        self._running: set[asyncio.Task[None]] = set()

    @property
    def queue_name(self) -> str:
        return self.trigger.queue_name

    @property
    def poison_queue_name(self) -> str:
        return self.queue_name + POISON_SUFFIX

    async def start(self) -> None:
        """Returns at once: an unreachable queue is retried in the background, not fatal."""
        self._poller = asyncio.create_task(self._poll_loop(), name=f"poll {self.queue_name}")
        self._poller.add_done_callback(self._poller_ended)

    def _poller_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            self.stats.last_error = f"listener crashed: {error!r}"
            log.error("%s: the queue listener crashed", self.spec.name, exc_info=error)

    def notify_new_message(self) -> None:
        """Poll now: this host just wrote to the queue (the host's shared queue watcher)."""
        self._wake.set()

    async def stop(self, drain_timeout: float) -> None:
        """Stop fetching, let running invocations finish within the bound, then release."""
        self._stopping = True
        self._wake.set()
        self._slot_freed.set()
        if self._poller is not None:
            if not self._receiving:  # a receive in flight may be handing us messages: let it land
                self._poller.cancel()
            _, polling = await asyncio.wait([self._poller], timeout=drain_timeout)
            for task in polling:
                task.cancel()
                await asyncio.wait([task])
        if self._running:
            _, pending = await asyncio.wait(self._running, timeout=drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning(
                    "%s: %d invocations cancelled at shutdown", self.spec.name, len(pending)
                )
                await asyncio.wait(pending)
        await self._client.close()
        await self._poison_client.close()

    async def _poll_loop(self) -> None:
        backoff = Backoff(self.options.max_polling_interval)
        while not self._stopping and not await self._queue_ready():
            await self._pause(backoff.next())
        backoff.reset()
        while not self._stopping:
            await self._wait_for_capacity()
            if self._stopping:
                return
            self._wake.clear()
            messages = await self._receive()
            if messages:
                backoff.reset()
                for message in messages:
                    self._spawn(message)
            elif await self._pause(backoff.next()):
                backoff.reset()

    async def _queue_ready(self) -> bool:
        try:
            await ensure_queue(self._client)
        except AzureError as exc:
            self.stats.last_error = f"cannot reach queue {self.queue_name}: {exc}"
            log.warning("%s: %s; retrying", self.spec.name, self.stats.last_error)
            return False
        self.stats.last_error = None
        return True

    async def _pause(self, seconds: float) -> bool:
        """Sleep, unless woken (new message written here, or stop); True if woken."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _wait_for_capacity(self) -> None:
        while self.stats.in_flight > self.options.new_batch_threshold and not self._stopping:
            self.stats.waiting_for_capacity = True
            self._slot_freed.clear()
            await self._slot_freed.wait()
        self.stats.waiting_for_capacity = False

    async def _receive(self) -> list[QueueMessage]:
        self.stats.polls += 1
        pager = self._client.receive_messages(
            messages_per_page=self.options.batch_size,
            visibility_timeout=int(self._lease.total_seconds()),
        )
        self._receiving = True
        try:
            async for page in pager.by_page():
                return [message async for message in page]
        except ResourceNotFoundError:
            log.warning("queue %s disappeared; recreating it", self.queue_name)
            await ensure_queue(self._client)
        except AzureError:
            log.warning("polling %s failed; will retry", self.queue_name, exc_info=True)
        finally:
            self._receiving = False
        return []

    def _spawn(self, message: QueueMessage) -> None:
        self.stats.received += 1
        self.stats.in_flight += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        task = asyncio.create_task(self._process(message), name=f"message {message.id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _process(self, message: QueueMessage) -> None:
        try:
            await self._handle(message)
        except asyncio.CancelledError:
            await self._release(message, timedelta(0))
            raise
        except AzureError:
            log.exception("%s: could not settle message %s", self.spec.name, message.id)
        except Exception:  # a bug here must not kill the listener silently
            log.exception("%s: unexpected error handling message %s", self.spec.name, message.id)
        finally:
            self.stats.in_flight -= 1
            self._slot_freed.set()

    async def _handle(self, message: QueueMessage) -> None:
        count: int = message.dequeue_count or 1
        if count > self.options.max_dequeue_count:
            log.warning(
                "message %s on %s was dequeued %d times (max %d); moving it to %s",
                message.id,
                self.queue_name,
                count,
                self.options.max_dequeue_count,
                self.poison_queue_name,
            )
            await self._poison(message)
            return
        try:
            body = decode_body(message.content or "", self.options.message_encoding)
        except MessageDecodingError as exc:
            log.warning(
                "message %s on %s cannot be decoded (%s); moving it to %s",
                message.id,
                self.queue_name,
                exc,
                self.poison_queue_name,
            )
            await self._poison(message)
            return
        if await self._run_function(message, body):
            self.stats.succeeded += 1
            await self._client.delete_message(message)
            return
        self.stats.failed += 1
        if count >= self.options.max_dequeue_count:
            log.warning(
                "message %s failed %d times; moving it to %s",
                message.id,
                count,
                self.poison_queue_name,
            )
            await self._poison(message)
        else:
            await self._release(message, self.options.visibility_timeout)

    async def _run_function(self, message: QueueMessage, body: bytes) -> bool:
        lease = MessageLease(self._client, message, self._lease, self.stats)
        lease.start()
        try:
            result = await self._invoker.invoke(
                self.spec,
                self._argument(message, body),
                reason=f"New queue message detected on '{self.queue_name}'.",
                details=f"MessageId={message.id}, DequeueCount={message.dequeue_count}",
            )
            if not result.succeeded:
                return False
            try:
                await self._outputs.flush(self.spec, result)
            except (OutputBindingError, AzureError):
                log.exception("Functions.%s: its outputs could not be delivered", self.spec.name)
                return False
            return True
        finally:
            await lease.stop()

    def _argument(self, message: QueueMessage, body: bytes) -> object:
        if self.trigger.arg_kind == "bytes":
            return body
        if self.trigger.arg_kind == "str":
            return body.decode("utf-8")
        return FunctionQueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )

    async def _release(self, message: QueueMessage, after: timedelta) -> None:
        try:
            await self._client.update_message(
                message, visibility_timeout=max(0, int(after.total_seconds()))
            )
        except AzureError:
            log.warning("could not release message %s", message.id, exc_info=True)

    async def _poison(self, message: QueueMessage) -> None:
        """Copy the stored text unchanged, then delete: the host's poison handling."""
        await ensure_queue(self._poison_client)
        await self._poison_client.send_message(message.content)
        await self._client.delete_message(message)
        self.stats.poisoned += 1
