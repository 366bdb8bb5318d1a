"""Recipients who texted STOP. Checked before every sms so Twilio never sees a send it
would refuse with 21610 anyway, and so the log says why nothing was sent.

Each instance keeps the set of opted-out numbers and reads it again every
``REFRESH_SECONDS``, instead of one table read per message; a keyword handled by this instance
applies at once. A STOP handled by another instance can take up to ``REFRESH_SECONDS`` to be
seen here: Twilio itself refuses such a send with 21610, which is then recorded as ``failed``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.domain.records import utcnow

# Twilio's default opt-out and opt-in keywords for long codes and toll-free numbers.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
_ROW = "opt-out"
REFRESH_SECONDS = 30.0


def keyword_of(body: str) -> str | None:
    """The opt keyword when the whole message is one (Twilio matches the trimmed body)."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS or word in OPT_IN_KEYWORDS:
        return word
    return None


class OptOutRegistry:
    def __init__(
        self,
        table: TableClient,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._numbers: set[str] | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def is_opted_out(self, number: str) -> bool:
        return number in await self._current()

    async def _current(self) -> set[str]:
        if self._numbers is None or self._clock() - self._loaded_at > self._refresh_seconds:
            async with self._lock:
                if self._numbers is None or self._clock() - self._loaded_at > self._refresh_seconds:
                    rows = self._table.query_entities("opted_out eq true", select=["PartitionKey"])
                    self._numbers = {str(row["PartitionKey"]) async for row in rows}
                    self._loaded_at = self._clock()
        return self._numbers

    async def apply_keyword(self, number: str, keyword: str) -> bool:
        """Records the keyword's effect; returns the number's new opted-out state."""
        opted_out = keyword in OPT_OUT_KEYWORDS
        await self._table.upsert_entity(
            {
                "PartitionKey": number,
                "RowKey": _ROW,
                "opted_out": opted_out,
                "keyword": keyword,
                "updated_at": utcnow(),
            },
            mode=UpdateMode.REPLACE,
        )
        if self._numbers is not None:
            if opted_out:
                self._numbers.add(number)
            else:
                self._numbers.discard(number)
        return opted_out
