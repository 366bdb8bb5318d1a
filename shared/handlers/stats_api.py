"""``GET /api/stats``: a range of days' counts, from the statistics kept as records move.

A load reads one row per closed day and the rows of the last two days (a thousand per
request), never the log: see ``message_stats``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import azure.functions as func

from shared.delivery.services import get_services
from shared.domain.records import utcnow
from shared.platform.http import HttpError, answers_failures, json_response

DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DEFAULT_DAYS = 7
EARLIEST = date(1970, 1, 1)
MAX_DAYS = 93
_PARAMETERS = ("since", "until")


def _day(params: dict[str, str], name: str) -> date | None:
    raw = params.get(name)
    if raw is None:
        return None
    invalid = HttpError(400, f"invalid_{name}", f"'{name}' must be a UTC day like 2026-11-26", name)
    if not DAY.fullmatch(raw):
        raise invalid
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid from None


def parse_range(params: dict[str, str], today: date) -> tuple[date, date]:
    unknown = sorted(set(params) - set(_PARAMETERS) - {"code"})
    if unknown:
        raise HttpError(
            400, "unknown_parameter", f"unknown parameter {unknown[0]!r}; use since, until",
            unknown[0],
        )  # fmt: skip
    # Nothing is counted before 1970; clamping there also keeps day arithmetic in range.
    until = max(_day(params, "until") or today, EARLIEST)
    since = max(_day(params, "since") or until - timedelta(days=DEFAULT_DAYS - 1), EARLIEST)
    if since > until:
        raise HttpError(400, "invalid_since", "'since' is after 'until'", "since")
    if (until - since).days >= MAX_DAYS:
        raise HttpError(400, "invalid_since", f"a range holds at most {MAX_DAYS} days", "since")
    return since, until


@answers_failures
async def day_totals(req: func.HttpRequest) -> func.HttpResponse:
    today = utcnow().date()
    since, until = parse_range(dict(req.params), today)
    services = await get_services()
    days = await services.stats.days(since, until, today)
    return json_response(
        {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "days": [day.as_json() for day in days],
        }
    )
