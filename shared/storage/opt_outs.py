"""Recipients who texted STOP. Checked before every sms so Twilio never sees a send it
would refuse with 21610 anyway, and so the log says why nothing was sent.

Each instance keeps the set of opted-out numbers and reads it again every
``REFRESH_SECONDS``, instead of one table read per message; a keyword handled by this instance
applies at once. A STOP handled by another instance can take up to ``REFRESH_SECONDS`` to be
seen here: Twilio itself refuses such a send with 21610, which is then recorded as ``failed``.

Rows are keyed by the number's keyed hash (``number_keys``), never the number, so an opt-out
outlives the erasure of the number's records without keeping the number. Rows from before,
keyed by the number in clear (E.164 starts with "+", a hash never does), are honoured as they
are and moved to their hash by ``move_clear_rows``, which finds them by a key range.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.domain.records import utcnow
from shared.storage.table_rows import delete_rows

# Twilio's default opt-out and opt-in keywords for long codes and toll-free numbers.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
_ROW = "opt-out"
REFRESH_SECONDS = 30.0
# Every key from "+" up to the next character: the rows keyed by a number in clear.
_CLEAR_FROM, _CLEAR_TO = "+", ","


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
        key_of: Callable[[str], str],
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._key_of = key_of
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._numbers: set[str] | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def is_opted_out(self, number: str) -> bool:
        return self._key_of(number) in await self._current()

    async def _current(self) -> set[str]:
        if self._numbers is None or self._clock() - self._loaded_at > self._refresh_seconds:
            async with self._lock:
                if self._numbers is None or self._clock() - self._loaded_at > self._refresh_seconds:
                    rows = self._table.query_entities("opted_out eq true", select=["PartitionKey"])
                    self._numbers = {self._key(str(row["PartitionKey"])) async for row in rows}
                    self._loaded_at = self._clock()
        return self._numbers

    async def apply_keyword(self, number: str, keyword: str) -> bool:
        """Records the keyword's effect; returns the number's new opted-out state."""
        opted_out = keyword in OPT_OUT_KEYWORDS
        key = self._key_of(number)
        upsert = self._table.upsert_entity(
            {
                "PartitionKey": key,
                "RowKey": _ROW,
                "opted_out": opted_out,
                "keyword": keyword,
                "updated_at": utcnow(),
            },
            mode=UpdateMode.REPLACE,
        )
        # A row in clear from before the hashes would outvote this one on the next load.
        await asyncio.gather(upsert, self._forget_clear(number))
        if self._numbers is not None:
            if opted_out:
                self._numbers.add(key)
            else:
                self._numbers.discard(key)
        return opted_out

    def _key(self, partition_key: str) -> str:
        clear = partition_key.startswith(_CLEAR_FROM)
        return self._key_of(partition_key) if clear else partition_key

    async def _forget_clear(self, number: str) -> None:
        await delete_rows(self._table, number, [_ROW])

    async def forget_number(self, number: str) -> None:
        """For an erasure: the number's row in clear, if any, moves to its hash (so its STOP
        is still honoured) and the clear one goes."""
        entity = await self._clear_row(number)
        if entity is not None:
            await self._move(entity)

    async def _clear_row(self, number: str) -> dict[str, Any] | None:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": number})
        async for entity in rows:
            return dict(entity)
        return None

    async def move_clear_rows(self) -> int:
        """Moves every row still keyed by a number in clear to the number's hash; a hashed row
        already there is newer and wins. Returns how many moved."""
        rows = self._table.query_entities(
            "PartitionKey ge @lo and PartitionKey lt @hi",
            parameters={"lo": _CLEAR_FROM, "hi": _CLEAR_TO},
        )
        moved = 0
        async for entity in rows:
            await self._move(dict(entity))
            moved += 1
        return moved

    async def _move(self, entity: dict[str, Any]) -> None:
        number = str(entity["PartitionKey"])
        hashed = {**entity, "PartitionKey": self._key_of(number)}
        with contextlib.suppress(ResourceExistsError):  # a newer row under the hash wins
            await self._table.create_entity(hashed)
        await self._forget_clear(number)
