"""Recipients who texted STOP. Checked before every sms so Twilio never sees a send it
would refuse with 21610 anyway, and so the log says why nothing was sent."""

from __future__ import annotations

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.message_log import utcnow

# Twilio's default opt-out and opt-in keywords for long codes and toll-free numbers.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
_ROW = "opt-out"


def keyword_of(body: str) -> str | None:
    """The opt keyword when the whole message is one (Twilio matches the trimmed body)."""
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS or word in OPT_IN_KEYWORDS:
        return word
    return None


class OptOutRegistry:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    async def is_opted_out(self, number: str) -> bool:
        try:
            entity = await self._table.get_entity(number, _ROW)
        except ResourceNotFoundError:
            return False
        return bool(entity.get("opted_out", False))

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
        return opted_out
