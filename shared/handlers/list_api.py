"""``GET /api/messages`` and ``GET /api/calls``: the log, newest first, filtered and paged.

The index (``message_index``) finds the ids of a page without scanning the log; each id's
summary is then read by its key, concurrently, for the current status and content. The
status changes too often to be on the index, so a page filtered by status reads on through
the index until it holds ``limit`` matches or the range ends, within a budget of
``MAX_SUMMARY_READS`` summaries per request; past the budget it answers what it found with a
continuation that resumes right after the last record it looked at, so a page is short only
when the range is sparse in that status, never empty while its first match is near. ``id``
and ``sid`` name one record (read by key); ``tag`` is on the index.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import azure.functions as func

from shared.delivery.services import Services, get_services
from shared.domain.outbound import ID_PATTERN, MAX_TAG
from shared.domain.records import LogRecord, utcnow
from shared.domain.status import Kind, UnknownStatusError, gateway_rank, twilio_rank
from shared.platform.errors import shown
from shared.platform.http import HttpError, answers_failures, json_response
from shared.platform.settings import E164
from shared.storage.message_index import (
    IndexEntry,
    IndexQuery,
    InvalidContinuationError,
    Position,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_WINDOW = timedelta(days=30)
# The index's row keys count microseconds back from about the year 5138, and nothing is
# logged before 1970: times outside this range are clamped to it, never overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
DIRECTIONS = ("inbound", "outbound")
# A status-filtered page reads at most this many summaries (and index pages), then continues.
MAX_SUMMARY_READS = 500
MAX_INDEX_PAGES = 20
SID_PATTERN = re.compile(r"(SM|MM|CA|RE)[0-9a-f]{32}\Z")
_COLLECTION: dict[Kind, str] = {"sms": "messages", "call": "calls"}
_PARAMETERS = (
    "direction",
    "status",
    "number",
    "since",
    "until",
    "tag",
    "id",
    "sid",
    "limit",
    "continuation",
)


@dataclass(frozen=True)
class ListRequest:
    query: IndexQuery
    status: str | None
    limit: int
    start: Position | None
    record_id: str | None = None
    sid: str | None = None
    # Whether since or until was given: a record named by id or SID is found at any age.
    windowed: bool = True


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


def _tag(params: dict[str, str]) -> str | None:
    tag = params.get("tag")
    if tag is not None and not 1 <= len(tag) <= MAX_TAG:
        raise _invalid("tag", f"'tag' must be 1 to {MAX_TAG} characters")
    return tag


def _record_id(params: dict[str, str]) -> str | None:
    record_id = params.get("id")
    if record_id is not None and not ID_PATTERN.fullmatch(record_id):
        raise _invalid("id", "'id' must be 1 to 64 letters, digits, '-' or '_'")
    return record_id


def _sid(params: dict[str, str]) -> str | None:
    sid = params.get("sid")
    if sid is not None and not SID_PATTERN.fullmatch(sid):
        raise _invalid("sid", "'sid' must be a Twilio SID like SM followed by 32 hex digits")
    return sid


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
    query = IndexQuery(kind, since, until, direction, _number(params), _tag(params))
    return ListRequest(
        query,
        _status(kind, params),
        _limit(params),
        start,
        _record_id(params),
        _sid(params),
        "since" in params or "until" in params,
    )


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


def matches(record: LogRecord, kind: Kind, request: ListRequest) -> bool:
    """The filters the index cannot apply, or that a record read by key must still meet."""
    query = request.query
    return (
        record.kind == kind
        and (request.status is None or record.status == request.status)
        and (query.direction is None or record.direction == query.direction)
        and (query.number is None or query.number in (record.to, record.from_))
        and (query.tag is None or record.tag == query.tag)
        and (not request.windowed or query.since <= record.created_at <= query.until)
    )


async def _summaries(
    read: Callable[[str], Awaitable[LogRecord | None]], ids: list[str], kind: Kind
) -> list[dict[str, Any]]:
    records: list[LogRecord | None] = await asyncio.gather(*(read(record_id) for record_id in ids))
    return [record.public_json() for record in records if record and record.kind == kind]


async def _by_status(
    services: Services, kind: Kind, request: ListRequest
) -> tuple[list[dict[str, Any]], Position | None]:
    """Index pages until the page is full, the range ends or the read budget is spent.

    The first batch is the page's size, and each next one twice the last (up to 100): a
    common status fills its page at once, a rare one is reached in a few round trips.
    """
    items: list[dict[str, Any]] = []
    position = request.start
    budget = MAX_SUMMARY_READS
    batch = request.limit
    for _ in range(MAX_INDEX_PAGES):
        entries, after = await services.index.entries(request.query, min(batch, budget), position)
        batch = min(2 * batch, MAX_LIMIT)
        budget -= len(entries)
        records = await asyncio.gather(*(services.log.get(entry.id) for entry in entries))
        for entry, record in zip(entries, records, strict=True):
            if record is not None and matches(record, kind, request):
                items.append(record.public_json())
                if len(items) == request.limit:
                    return items, _resume(entry, entries, after)
        if after is None or budget <= 0:
            return items, after
        position = after
    return items, position


def _resume(
    entry: IndexEntry, entries: list[IndexEntry], after: Position | None
) -> Position | None:
    return after if entry is entries[-1] else entry.after


async def _one(services: Services, kind: Kind, request: ListRequest) -> list[dict[str, Any]]:
    """``id`` or ``sid``: at most one record, which must meet the other filters too."""
    record_id = request.record_id
    if request.sid is not None:
        owner = await services.sids.owner(request.sid)
        # An inbound record's id is its SID; an outbound one's SID has an owner row.
        record_id = owner or request.sid
        if request.record_id is not None and record_id != request.record_id:
            return []
    assert record_id is not None
    record = await services.log.get(record_id)
    return [record.public_json()] if record is not None and matches(record, kind, request) else []


async def _page(
    services: Services, kind: Kind, request: ListRequest
) -> tuple[list[dict[str, Any]], Position | None]:
    if request.record_id is not None or request.sid is not None:
        return (await _one(services, kind, request) if request.start is None else []), None
    if request.status is not None:
        return await _by_status(services, kind, request)
    ids, position = await services.index.page(request.query, request.limit, request.start)
    return await _summaries(services.log.get, ids, kind), position


@answers_failures
async def list_records(req: func.HttpRequest, kind: Kind) -> func.HttpResponse:
    params = dict(req.params)
    request = parse_list_request(kind, params, utcnow())
    services = await get_services()
    items, position = await _page(services, kind, request)
    return json_response(
        {
            "items": items,
            "continuation": position.token() if position else None,
            "next": _next_link(kind, params, request.query, position),
        }
    )
