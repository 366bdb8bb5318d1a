"""Small HTTP helpers: JSON in and out, the error shape, TwiML responses, form parsing."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec
from urllib.parse import parse_qsl

import azure.functions as func

from shared.platform.errors import InvalidRequestError, MisconfiguredError, shown
from shared.platform.json_text import InvalidJsonError, parse_json

MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"
STORAGE_RETRY_AFTER_SECONDS = "5"
P = ParamSpec("P")


class HttpError(Exception):
    """A refusal with its HTTP status, rendered in the API's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = InvalidRequestError(code, message, field)
        self.headers = headers or {}

    def response(self) -> func.HttpResponse:
        return json_response(self.error.as_json(), self.status, self.headers)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(payload, ensure_ascii=False),
        status_code=status,
        headers=headers,
        mimetype=JSON,
        charset="utf-8",
    )


def twiml_response(xml: str, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(xml, status_code=status, mimetype="text/xml", charset="utf-8")


def forbidden(reason: str) -> func.HttpResponse:
    """403 with a short plain-text reason: a person previewing a URL learns why."""
    return func.HttpResponse(reason, status_code=403, mimetype="text/plain", charset="utf-8")


def misconfigured(exc: MisconfiguredError) -> func.HttpResponse:
    """500 naming the broken setting (its value and the details are in the start-up log)."""
    return HttpError(
        500,
        "gateway_misconfigured",
        f"this function cannot run: setting {exc.name} is missing or invalid; "
        "the gateway's log says why",
    ).response()


def storage_unavailable(consequence: str = "retry later") -> func.HttpResponse:
    """503 with Retry-After: storage did not answer. ``consequence`` tells the caller what
    that means for its request (not accepted, incomplete...), the one thing that differs."""
    return HttpError(
        503,
        "storage_unavailable",
        f"storage is unavailable; {consequence}",
        headers={"Retry-After": STORAGE_RETRY_AFTER_SECONDS},
    ).response()


def read_json(req: func.HttpRequest) -> Any:
    """The request's JSON body. A request with no Content-Type at all is read as JSON (as
    ``requests.post(url, data=text)`` sends it); any other type than JSON is a 415."""
    body = req.get_body()
    if len(body) > MAX_BODY_BYTES:
        raise HttpError(413, "body_too_large", f"the request body exceeds {MAX_BODY_BYTES} bytes")
    content_type = req.headers.get("content-type", JSON).split(";")[0].strip().lower()
    if content_type != JSON and not content_type.endswith("+json"):
        raise HttpError(
            415,
            "unsupported_media_type",
            f"send {JSON}, not {shown(content_type) if content_type else 'no content type'}",
            "Content-Type",
        )
    try:
        return parse_json(body)
    except InvalidJsonError as exc:
        raise HttpError(400, "invalid_json", f"the body is {exc}") from None


class FormParams(dict[str, list[str]]):
    """Form fields with repeats kept, in the shape ``RequestValidator`` signs (``getlist``)."""

    def getlist(self, name: str) -> list[str]:
        return self.get(name, [])

    def first(self, name: str, default: str = "") -> str:
        values = self.get(name)
        return values[0] if values else default


def form_params(req: func.HttpRequest) -> FormParams:
    params = FormParams()
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return params
    text = req.get_body().decode("utf-8", errors="replace")
    for key, value in parse_qsl(text, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    return params


def answers_failures(
    handler: Callable[P, Awaitable[func.HttpResponse]],
) -> Callable[P, Awaitable[func.HttpResponse]]:
    """A read API's answer to what went wrong on the way: the refusal it names, the setting
    it lacks (500), or storage that did not answer (503). Handlers whose failures mean more
    for the caller (an accept withdrawn, an erasure half done) say so themselves."""

    @functools.wraps(handler)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> func.HttpResponse:
        # Here, not at the top: a webhook or a TwiML fetch imports this module, and must not
        # pay for the Azure SDK's pipeline at cold start.
        from azure.core.exceptions import AzureError

        try:
            return await handler(*args, **kwargs)
        except HttpError as exc:
            return exc.response()
        except MisconfiguredError as exc:
            return misconfigured(exc)
        except AzureError:
            return storage_unavailable()

    return answer
