"""Which destinations want which events: the settings' subscriptions, the Event Grid topic
and a record's own ``callback_url``, each with its type filter resolved once per process."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from shared.domain.event_types import (
    ALL_TYPES,
    RECEIVED,
    VOICEMAIL,
    UnknownEventTypeError,
    event_type,
    resolve,
)
from shared.domain.records import LogEvent, LogRecord
from shared.platform import logs
from shared.platform.event_settings import EventSettings

EVENT_GRID = "event_grid"
CALLBACK = "callback"


@dataclass(frozen=True)
class Route:
    """A destination from the settings; ``key`` changes with its URL (its off switch)."""

    name: str
    key: str
    types: frozenset[str]
    bodies: bool


def _key(name: str, url: str) -> str:
    return f"{name}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _types(names: Iterable[str], setting: str) -> frozenset[str]:
    """The settings check the names' shape; a well-shaped name that is no type is reported
    here, once per process, and the rest of the filter still applies."""
    kept: set[str] = set()
    for name in names:
        try:
            kept |= resolve([name])
        except UnknownEventTypeError:
            logs.error("setting_invalid", setting=setting, problem=f"{name!r} is no event type")
    return frozenset(kept)


def routes_of(events: EventSettings) -> list[Route]:
    found: list[Route] = []
    if events.event_grid is not None:
        grid = events.event_grid
        topic = f"{grid.endpoint}|{grid.namespace_topic or ''}"
        types = _types(grid.types, "EVENT_GRID_TYPES")
        found.append(Route(EVENT_GRID, _key(EVENT_GRID, topic), types, grid.bodies))
    for hook in events.webhooks:
        suffix = "" if hook.number == 1 else f"_{hook.number}"
        types = _types(hook.types, f"EVENT_WEBHOOK_TYPES{suffix}")
        found.append(Route(hook.name, _key(hook.name, hook.url), types, hook.bodies))
    return found


def callback_types(record: LogRecord, default: frozenset[str]) -> frozenset[str]:
    if not record.callback_events:
        return default
    return resolve(json.loads(record.callback_events))


@dataclass(frozen=True)
class Routing:
    """Whether a write may cause an event some destination wants: asked before every write,
    so it answers from memory."""

    routes: tuple[Route, ...]
    callbacks: bool
    callback_default: frozenset[str]

    @classmethod
    def from_settings(cls, events: EventSettings) -> Routing:
        return cls(
            tuple(routes_of(events)),
            bool(events.callback_secrets),
            _types(events.callback_types, "EVENT_CALLBACK_TYPES"),
        )

    @property
    def wanted(self) -> frozenset[str]:
        found: set[str] = set()
        for route in self.routes:
            found |= route.types
        return frozenset(found)

    def wants(self, record: LogRecord, type_name: str) -> bool:
        if any(type_name in route.types for route in self.routes):
            return True
        if not (self.callbacks and record.callback_url and not record.callback_gone):
            return False
        return type_name in callback_types(record, self.callback_default)

    def wants_status(self, status: str) -> bool:
        """A callback row's status, its record unread: of either kind, for any destination
        (a callback_url may ask for any type)."""
        if self.callbacks:
            return True
        names = {event_type(kind, status) for kind in ("sms", "call")}
        return bool(names & self.wanted)


def change_type(before: LogRecord | None, after: LogRecord, event: LogEvent) -> str | None:
    """The event type a write causes, if it causes one: a create, a status that moves, or a
    voicemail."""
    if event.status == VOICEMAIL and after.kind == "call":
        return event_type("call", VOICEMAIL)
    if before is None:
        if after.direction == "inbound":
            return event_type(after.kind, RECEIVED)
        return event_type(after.kind, after.status)
    if after.status == before.status and after.status_rank == before.status_rank:
        return None
    name = event_type(after.kind, after.status)
    return name if name in ALL_TYPES else None
