"""The names of the gateway's CloudEvents, and which of them a destination gets by default.

One type per status a record reaches, named ``<prefix>.<kind>.<status>``, plus the arrivals:
an inbound text is ``sms.received``, an inbound call ``call.received`` and a voicemail left on
one ``call.voicemail``. The default set is what ACS publishes (a delivery report when the
status is final, and every inbound message): every other transition is opt-in.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.status import KINDS, TERMINAL_RANK, known_statuses

PREFIX = "io.github.twilio-gateway"
RECEIVED = "received"
VOICEMAIL = "voicemail"
DEFAULT = "default"
ALL = "all"


def event_type(kind: str, status: str) -> str:
    return f"{PREFIX}.{kind}.{status}"


def _all_types() -> tuple[str, ...]:
    names: list[str] = []
    for kind in KINDS:
        names += [event_type(kind, status) for status in known_statuses(kind)]
    names += [event_type("call", RECEIVED), event_type("call", VOICEMAIL)]
    return tuple(dict.fromkeys(names))


ALL_TYPES: tuple[str, ...] = _all_types()


def _default_types() -> frozenset[str]:
    final = {
        event_type(kind, status)
        for kind in KINDS
        for status, rank in known_statuses(kind).items()
        if rank >= TERMINAL_RANK
    }
    inbound = {event_type("sms", RECEIVED), event_type("call", RECEIVED)}
    return frozenset(final | inbound | {event_type("call", VOICEMAIL)})


DEFAULT_TYPES: frozenset[str] = _default_types()


class UnknownEventTypeError(ValueError):
    """A name in a type filter that is not one of the gateway's event types."""


def resolve(names: Iterable[str]) -> frozenset[str]:
    """A filter as written (``default``, ``all``, full type names or ``sms.delivered``-style
    short ones, in any mix) as the set of full type names it selects."""
    selected: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name == DEFAULT:
            selected |= DEFAULT_TYPES
        elif name == ALL:
            selected |= set(ALL_TYPES)
        else:
            full = name if name.startswith(PREFIX + ".") else f"{PREFIX}.{name}"
            if full not in ALL_TYPES:
                raise UnknownEventTypeError(name)
            selected.add(full)
    return frozenset(selected)
