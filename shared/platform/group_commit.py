"""Writes that many concurrent invocations make at once, made as one request.

While one flush is in flight, the items that arrive wait and go together in the next: a lone
item pays no delay, and a busy instance pays one request per flush instead of one per item.
Every caller awaits the flush of its own item, so a caller that returns knows its item is
stored, and a caller whose flush failed gets the error, as if it had written alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")


# A flush still running after this long does not hold the items that came meanwhile: a
# spare drain flushes them beside it. One storage request stuck for seconds (Azurite does
# this; so does any service now and then) otherwise held every writer of the process: status
# callbacks waited 16-26 s in the bench, past the 15 s Twilio gives a webhook.
SLOW_FLUSH_SECONDS = 1.0
MAX_DRAINS = 4


class GroupCommit(Generic[T]):
    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[None]],
        max_items: int,
        slow_after: float = SLOW_FLUSH_SECONDS,
        max_drains: int = MAX_DRAINS,
    ) -> None:
        self._flush = flush
        self._max_items = max_items
        self._slow_after = slow_after
        self._max_drains = max_drains
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._drains: set[asyncio.Task[None]] = set()

    async def add(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if not self._drains:
            self._start_drain()
        await future

    def _start_drain(self) -> None:
        self._drains.add(asyncio.create_task(self._drain_pending()))

    def _spare(self) -> None:
        if self._pending and len(self._drains) < self._max_drains:
            self._start_drain()

    async def _drain_pending(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_items]
                del self._pending[: self._max_items]
                slow = asyncio.get_running_loop().call_later(self._slow_after, self._spare)
                try:
                    await self._flush([item for item, _ in batch])
                except BaseException as exc:
                    _settle(batch, exc)
                    if not isinstance(exc, Exception):
                        raise
                else:
                    _settle(batch, None)
                finally:
                    slow.cancel()
        finally:
            # Synchronously, before another task runs: an item added after this finds no
            # drain and starts one.
            self._drains.discard(cast("asyncio.Task[None]", asyncio.current_task()))
            if not self._drains:
                _settle(self._pending, asyncio.CancelledError())
                del self._pending[:]


def _settle(batch: list[tuple[T, asyncio.Future[None]]], error: BaseException | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        elif isinstance(error, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(error)
