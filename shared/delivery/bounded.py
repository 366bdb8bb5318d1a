"""Many independent storage calls at once, but not all at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CONCURRENCY = 16


async def gather_bounded(
    work: Callable[[T], Awaitable[R]], items: Iterable[T], limit: int = CONCURRENCY
) -> list[R]:
    semaphore = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with semaphore:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
