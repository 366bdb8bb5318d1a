"""Back-pressure: how many Twilio requests this instance keeps in flight.

Twilio limits the requests an account has in flight at once and answers the rest 429
(20429). An instance that keeps sending at full concurrency into that limit spends most of
its requests on refusals. So each instance holds an adaptive limit (additive increase,
multiplicative decrease): a refusal (429 or 503) cuts it by ``DECREASE``, once per round of
requests (refusals of requests that started before the last cut were answered under the old
limit and do not count again), and every request Twilio takes raises it by about one per
round of requests, never above ``TWILIO_MAX_IN_FLIGHT``. Sends, reconciliations and status checks
share it. The limit across instances comes from the platform: the instance count is capped
(``infra/``), so the account's concurrency is shared, never exceeded by much.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")
DECREASE = 0.7


class AdaptiveLimit:
    def __init__(self, ceiling: int, floor: int = 1) -> None:
        self.ceiling = max(ceiling, floor)
        self.floor = floor
        self.limit = float(self.ceiling)
        self.in_flight = 0
        self._changed = asyncio.Condition()
        self._last_cut = float("-inf")

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Waits for room under the limit; the request runs inside. Yields when it started,
        for ``refused``."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
        try:
            yield time.monotonic()
        finally:
            async with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def taken(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)

    def refused(self, started: float) -> None:
        if started < self._last_cut:
            return
        self._last_cut = time.monotonic()
        self.limit = max(float(self.floor), self.limit * DECREASE)


async def paced(limit: AdaptiveLimit, call: Callable[[], Awaitable[T]]) -> T:
    """One Twilio request under the limit, telling the limit how Twilio took it."""
    from shared.twilio.sender import TransientSendError

    async with limit.slot() as started:
        try:
            result = await call()
        except TransientSendError as exc:
            if exc.pushback:
                limit.refused(started)
            raise
    limit.taken()
    return result
