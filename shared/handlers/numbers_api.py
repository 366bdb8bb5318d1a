"""``DELETE /api/numbers/{number}``: erase every record to or from a number (GDPR art. 17).

The answer counts the records erased; a repeat finds nothing left and answers 0. The
number's STOP, if it sent one, is kept under its keyed hash and still honoured.
"""

from __future__ import annotations

from urllib.parse import unquote

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.delivery.erasure import erase_number
from shared.delivery.services import get_services
from shared.platform import logs
from shared.platform.errors import MisconfiguredError
from shared.platform.http import HttpError, json_response, misconfigured, storage_unavailable
from shared.platform.settings import E164


def _number(req: func.HttpRequest) -> str:
    raw = unquote(req.route_params.get("number", ""))
    # A '+' sent unencoded in a query-like way can arrive as a space.
    number = "+" + raw[1:] if raw.startswith(" ") else raw
    if not E164.fullmatch(number):
        raise HttpError(
            400, "invalid_number", "the number must be E.164 like +15551234567", "number"
        )
    return number


async def erase(req: func.HttpRequest) -> func.HttpResponse:
    try:
        number = _number(req)
        services = await get_services()
        report = await erase_number(services, number)
    except HttpError as exc:
        return exc.response()
    except MisconfiguredError as exc:
        return misconfigured(exc)
    except AzureError as exc:
        logs.error("erasure_interrupted", error=type(exc).__name__)
        return storage_unavailable("the erasure is incomplete. Repeat it: it resumes")
    return json_response(report.as_json())
