"""``GET /api/messages`` and ``GET /api/calls``: the log, newest first, filtered and paged.

The index (``message_index``) finds the ids of a page without scanning the log; each id's
summary is then read by its key, concurrently, for the current status and content. The
status filter is applied to those summaries, so a page filtered by status can hold fewer
items than ``limit`` while a continuation remains.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.delivery.services import get_services
from shared.domain.records import LogRecord, utcnow
from shared.domain.status import Kind, UnknownStatusError, gateway_rank, twilio_rank
from shared.platform.errors import MisconfiguredError, shown
from shared.platform.http import HttpError, json_response, misconfigured
from shared.platform.settings import E164
from shared.storage.message_index import IndexQuery, InvalidContinuationError, Position

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_WINDOW = timedelta(days=30)
# The index's row keys count microseconds back from about the year 5138, and nothing is
# logged before 1970: times outside this range are clamped to it, never overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
DIRECTIONS = ("inbound", "outbound")
_COLLECTION: dict[Kind, str] = {"sms": "messages", "call": "calls"}
_PARAMETERS = ("direction", "status", "number", "since", "until", "limit", "continuation")


@dataclass(frozen=True)
class ListRequest:
    query: IndexQuery
    status: str | None
    limit: int
    start: Position | None


def _invalid(name: str, message: str) -> HttpError:
    return HttpError(400, f"invalid_{name}", message, name)


def _time(params: dict[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise _invalid(name, f"'{name}' must be ISO 8601 like 2026-11-26T09:00:00Z") from None
    if value.tzinfo is None:
        raise _invalid(name, f"'{name}' needs a UTC offset (Z or +hh:mm)")
    # Compared by year first: converting a time at either end of datetime's range overflows.
    if value.year < EARLIEST.year:
        return EARLIEST
    if value.year >= LATEST.year:
        return LATEST
    return min(max(value.astimezone(UTC), EARLIEST), LATEST)


def _number(params: dict[str, str]) -> str | None:
    raw = params.get("number")
    if raw is None:
        return None
    # An unencoded '+' in a query string arrives as a space.
    number = "+" + raw[1:] if raw.startswith(" ") else raw
    if not E164.match(number):
        raise _invalid("number", "'number' must be E.164 like +15551234567 (encode + as %2B)")
    return number


def _status(kind: Kind, params: dict[str, str]) -> str | None:
    status = params.get("status")
    if status is None:
        return None
    for rank in (gateway_rank, twilio_rank):
        try:
            rank(kind, status)
        except UnknownStatusError:
            continue
        return status
    raise _invalid("status", f"{shown(status)} is not a status of a {kind}")


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # The length check comes first: int() refuses strings over 4300 digits with a ValueError.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= MAX_LIMIT):
        raise _invalid("limit", f"'limit' must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def parse_list_request(kind: Kind, params: dict[str, str], now: datetime) -> ListRequest:
    unknown = sorted(set(params) - set(_PARAMETERS) - {"code"})
    if unknown:
        raise HttpError(
            400,
            "unknown_parameter",
            f"unknown parameter {shown(unknown[0])}; use {', '.join(_PARAMETERS)}",
            unknown[0],
        )
    direction = params.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise _invalid("direction", "'direction' must be 'inbound' or 'outbound'")
    until = _time(params, "until") or now
    since = _time(params, "since") or max(until - DEFAULT_WINDOW, EARLIEST)
    if since > until:
        raise _invalid("since", "'since' is after 'until'")
    start = None
    if "continuation" in params:
        try:
            start = Position.from_token(params["continuation"])
            start.check_within(since, until)
        except InvalidContinuationError as exc:
            raise _invalid(
                "continuation",
                f"'continuation' is not a token this API gave for this since/until: {exc}",
            ) from None
    query = IndexQuery(kind, since, until, direction, _number(params))
    return ListRequest(query, _status(kind, params), _limit(params), start)


def _next_link(
    kind: Kind, params: dict[str, str], query: IndexQuery, position: Position | None
) -> str | None:
    """The same request one page on, its window pinned: a token is only valid inside the
    since/until it was handed out for, and a default window would move with the clock."""
    if position is None:
        return None
    kept = {key: value for key, value in params.items() if key not in ("code", "continuation")}
    kept["since"], kept["until"] = query.since.isoformat(), query.until.isoformat()
    kept["continuation"] = position.token()
    return f"/api/{_COLLECTION[kind]}?{urlencode(kept)}"


async def _summaries(
    read: Callable[[str], Awaitable[LogRecord | None]],
    ids: list[str],
    kind: Kind,
    status: str | None,
) -> list[dict[str, Any]]:
    records: list[LogRecord | None] = await asyncio.gather(*(read(record_id) for record_id in ids))
    return [
        record.public_json()
        for record in records
        if record is not None
        and record.kind == kind
        and (status is None or record.status == status)
    ]


async def list_records(req: func.HttpRequest, kind: Kind) -> func.HttpResponse:
    params = dict(req.params)
    try:
        request = parse_list_request(kind, params, utcnow())
        services = await get_services()
        ids, position = await services.index.page(request.query, request.limit, request.start)
        items = await _summaries(services.log.get, ids, kind, request.status)
    except HttpError as exc:
        return exc.response()
    except MisconfiguredError as exc:
        return misconfigured(exc)
    except AzureError:
        return HttpError(
            503, "storage_unavailable", "storage is unavailable; retry later",
            headers={"Retry-After": "5"},
        ).response()  # fmt: skip
    return json_response(
        {
            "items": items,
            "continuation": position.token() if position else None,
            "next": _next_link(kind, params, request.query, position),
        }
    )
