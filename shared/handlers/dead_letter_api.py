"""``GET /api/events/dead-letters`` and ``POST /api/events/dead-letters/replay``: the events
no destination took, a UTC day at a time, newest first, and putting them back on their way.

A list reads one day's partition (``event_dead_letters``) in key order and never another
table; ``continuation`` resumes right after the last letter of the page. A replay is one
letter (``day`` and ``key``) or a whole day (``day`` alone, up to ``MAX_REPLAY`` at a call):
each goes back on the events queue as a first attempt, with a fresh retry budget, and leaves
the list; if the destination fails again it comes back as a new letter.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date

import azure.functions as func

from shared.delivery import events_out
from shared.delivery.event_services import EventServices
from shared.delivery.services import get_services
from shared.domain.records import utcnow
from shared.platform.http import (
    HttpError,
    answers_failures,
    json_response,
    read_json,
)
from shared.storage.event_dead_letters import MAX_PAGE, DeadLetter

DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
KEY = re.compile(r"[0-9]{17}-[0-9a-f]{8}\Z")
DEFAULT_LIMIT = 50
MAX_REPLAY = 500
_LIST_PARAMETERS = ("day", "limit", "continuation", "code")


def _day(value: object, name: str = "day") -> date:
    invalid = HttpError(400, "invalid_day", f"'{name}' must be a UTC day like 2026-11-26", name)
    if not isinstance(value, str) or not DAY.fullmatch(value):
        raise invalid
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid from None


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_PAGE):
        raise HttpError(400, "invalid_limit", f"'limit' must be 1-{MAX_PAGE}", "limit")
    return int(raw)


def _after(params: dict[str, str]) -> str | None:
    raw = params.get("continuation")
    if raw is None:
        return None
    try:
        key = base64.urlsafe_b64decode(raw.encode("ascii") + b"==").decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        key = ""
    if not KEY.fullmatch(key):
        raise HttpError(
            400, "invalid_continuation", "'continuation' is not a token this API gave",
            "continuation",
        )  # fmt: skip
    return key


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("ascii")).decode("ascii").rstrip("=")


def _events(services_events: EventServices | None) -> EventServices:
    if services_events is None:
        raise HttpError(
            404,
            "events_not_configured",
            "no event destination is configured (EVENT_GRID_TOPIC_ENDPOINT, EVENT_WEBHOOK_URL "
            "or EVENT_CALLBACK_SECRET), so nothing is ever dead-lettered",
        )
    return services_events


def _list_query(params: dict[str, str]) -> tuple[date, int, str | None]:
    unknown = sorted(set(params) - set(_LIST_PARAMETERS))
    if unknown:
        raise HttpError(
            400, "unknown_parameter",
            f"unknown parameter {unknown[0]!r}; use day, limit, continuation", unknown[0],
        )  # fmt: skip
    day = _day(params["day"]) if "day" in params else utcnow().date()
    return day, _limit(params), _after(params)


@answers_failures
async def list_letters(req: func.HttpRequest) -> func.HttpResponse:
    params = dict(req.params)
    day, limit, after = _list_query(params)
    services = await get_services()
    services.settings.require("events")
    events = _events(services.events)
    letters, last = await events.dead_letters.page(day, limit, after)
    token = _token(last) if last else None
    following = None
    if token:
        following = f"/api/events/dead-letters?day={day.isoformat()}&limit={limit}"
        following += f"&continuation={token}"
    return json_response(
        {
            "day": day.isoformat(),
            "items": [letter.as_json() for letter in letters],
            "continuation": token,
            "next": following,
        }
    )


def _replay_query(body: object) -> tuple[date, str | None]:
    if not isinstance(body, dict) or not set(body) <= {"day", "key"} or "day" not in body:
        raise HttpError(
            400, "invalid_replay",
            'expected {"day": "2026-11-26"} (the whole day) or {"day", "key"} (one letter)',
            "day",
        )  # fmt: skip
    key = body.get("key")
    if key is not None and not (isinstance(key, str) and KEY.fullmatch(key)):
        raise HttpError(400, "invalid_key", "'key' is a dead letter's key from the list", "key")
    return _day(body["day"]), key


async def _chosen(events: EventServices, day: date, key: str | None) -> list[DeadLetter]:
    if key is None:
        letters, _ = await events.dead_letters.page(day, MAX_REPLAY)
        return letters
    letter = await events.dead_letters.get(day.isoformat(), key)
    if letter is None:
        raise HttpError(404, "not_found", "no such dead letter (replayed already?)", "key")
    return [letter]


@answers_failures
async def replay(req: func.HttpRequest) -> func.HttpResponse:
    day, key = _replay_query(read_json(req))
    services = await get_services()
    services.settings.require("events")
    events = _events(services.events)
    letters = await _chosen(events, day, key)
    for letter in letters:
        await events_out.replay(events, letter)
    keys = [letter.key for letter in letters]
    return json_response({"day": day.isoformat(), "replayed": len(keys), "keys": keys}, 202)
