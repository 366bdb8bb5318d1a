"""Status ranks: the log's summary only ever moves forward.

Twilio's callbacks can arrive late or out of order (``sent`` after ``delivered``), and the
worker's own record of a send can race the first callback. Comparing ranks, not names, lets
every writer decide the same way. The gateway's own statuses (``accepted``, ``sending``,
``dialing``) share names with Twilio's, so a rank is always computed with its origin.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["sms", "call"]
KINDS: tuple[Kind, ...] = ("sms", "call")

ACCEPTED = "accepted"
REJECTED = "rejected"
FAILED = "failed"
WITHDRAWN = "withdrawn"
UNKNOWN = "unknown"

TERMINAL_RANK = 100
# Final statuses do not replace one another (the first one recorded stays), with one
# exception: ``read`` (WhatsApp, RCS) is news after ``delivered``, so it ranks above every
# other final status and nothing replaces it.
READ_RANK = TERMINAL_RANK + 1

_GATEWAY_TERMINAL = {REJECTED, FAILED, WITHDRAWN, UNKNOWN}
_GATEWAY_RANKS: dict[Kind, dict[str, int]] = {
    "sms": {ACCEPTED: 0, "sending": 1} | dict.fromkeys(_GATEWAY_TERMINAL, TERMINAL_RANK),
    "call": {ACCEPTED: 0, "dialing": 1} | dict.fromkeys(_GATEWAY_TERMINAL, TERMINAL_RANK),
}

_TWILIO_RANKS: dict[Kind, dict[str, int]] = {
    "sms": {
        "scheduled": 2,
        "queued": 3,
        "accepted": 3,
        "sending": 4,
        "sent": 5,
        "receiving": 5,
        "received": TERMINAL_RANK,
        "delivered": TERMINAL_RANK,
        "undelivered": TERMINAL_RANK,
        "failed": TERMINAL_RANK,
        "read": READ_RANK,
        "canceled": TERMINAL_RANK,
        "partially_delivered": TERMINAL_RANK,
    },
    "call": {
        "queued": 3,
        "initiated": 4,
        "ringing": 5,
        "in-progress": 6,
        "answered": 6,
        "completed": TERMINAL_RANK,
        "busy": TERMINAL_RANK,
        "no-answer": TERMINAL_RANK,
        "failed": TERMINAL_RANK,
        "canceled": TERMINAL_RANK,
    },
}

CLAIM_STATUS: dict[Kind, str] = {"sms": "sending", "call": "dialing"}


class UnknownStatusError(ValueError):
    """A status name that neither the gateway nor Twilio uses for this kind."""


def gateway_rank(kind: Kind, status: str) -> int:
    try:
        return _GATEWAY_RANKS[kind][status]
    except KeyError:
        raise UnknownStatusError(f"{status!r} is not a gateway status for {kind}") from None


def twilio_rank(kind: Kind, status: str) -> int:
    try:
        return _TWILIO_RANKS[kind][status]
    except KeyError:
        raise UnknownStatusError(f"{status!r} is not a Twilio status for {kind}") from None


def known_statuses(kind: Kind) -> dict[str, int]:
    """Every status name a record of this kind can have, Twilio's and the gateway's, with
    its rank (the gateway's where both use the name)."""
    return {**_TWILIO_RANKS[kind], **_GATEWAY_RANKS[kind]}


def is_twilio_status(status: str) -> bool:
    """A status Twilio uses for one kind or the other."""
    return any(status in ranks for ranks in _TWILIO_RANKS.values())


def is_terminal(rank: int) -> bool:
    return rank >= TERMINAL_RANK
