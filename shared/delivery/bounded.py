"""Many independent storage calls at once, but not all at once: a few workers take the items
in turn, so a day of a hundred thousand records is never a hundred thousand tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

CONCURRENCY = 16


async def gather_bounded(
    work: Callable[[T], Awaitable[R]], items: Sequence[T], limit: int = CONCURRENCY
) -> list[R]:
    """The results in the order of ``items``; the first error is raised once all stop."""
    results: list[R | None] = [None] * len(items)
    pending = iter(range(len(items)))

    async def worker() -> None:
        for index in pending:
            results[index] = await work(items[index])

    outcomes = await asyncio.gather(
        *(worker() for _ in range(min(limit, len(items)))), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return results  # type: ignore[return-value]
