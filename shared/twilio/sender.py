"""Outbound sends through the official ``twilio`` client, and the one place that classifies
Twilio's failures as permanent (record and stop) or transient (the worker waits, with
backoff, and tries again; ``shared.delivery.retry_policy``).

Only the queue worker imports this module, so webhooks never pay for ``twilio.rest``.
The client's own retry option stays off: a retried POST after a 5xx can send twice.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from shared.domain.outbound import OutboundRequest
from shared.platform import logs
from shared.platform.settings import Settings
from shared.platform.tracing import client_span
from shared.twilio.twiml import say_response

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Twilio's timestamps have whole seconds and its clock is not ours.
RECONCILE_SKEW = timedelta(seconds=10)
RECONCILE_PAGE_SIZE = 50
# Past this many newer resources to one number, reconciliation says so instead of guessing.
RECONCILE_MAX_SCANNED = 1000
# 4xx statuses Twilio uses for requests that will fail the same way every time.
_PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422})
# Twilio refusing a request it did not act on, for now: too many requests, or the sender's
# queue is full (21611). Never processed, so safe to send again after a wait.
_REFUSED_CODES = frozenset({20429, 21611})
# The answers that mean "slow down": the instance lowers its sends in flight.
_PUSHBACK_STATUSES = frozenset({429, 503})
# Twilio's Retry-After, if its last answer in this task had one (set by ``_HeaderClient``).
_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)
# twilio's HTTP client logs every request at INFO, query strings with phone numbers included.
_HTTP_LOGGER = logging.getLogger("gateway.twilio_http")
_HTTP_LOGGER.setLevel(logging.WARNING)


@dataclass(frozen=True)
class SentResult:
    sid: str
    status: str
    from_: str | None = None
    created: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None


class PermanentSendError(Exception):
    """Twilio refused the request for good (invalid number, opted out, bad credentials...)."""

    def __init__(self, code: int | None, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class TransientSendError(Exception):
    """Worth retrying. ``ambiguous`` means Twilio may have acted on the request anyway;
    ``pushback`` that Twilio asked for fewer requests (429, 503); ``retry_after`` the seconds
    Twilio asked to wait, when it said."""

    def __init__(
        self,
        reason: str,
        *,
        ambiguous: bool,
        code: int | None = None,
        pushback: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous
        self.code = code
        self.pushback = pushback
        self.retry_after = retry_after


class MissingSenderError(PermanentSendError):
    def __init__(self, kind: str) -> None:
        setting = "TWILIO_FROM_NUMBER" if kind == "call" else "TWILIO_FROM_NUMBER or "
        if kind != "call":
            setting += "TWILIO_MESSAGING_SERVICE_SID"
        super().__init__(None, f"no 'from' in the request and {setting} is not set")


def classify(
    exc: BaseException, retry_after: float | None = None
) -> PermanentSendError | TransientSendError:
    """Permanent, or transient and whether Twilio may have acted on it. A 5xx stays
    ambiguous (Twilio may have created the message before failing): the retry reconciles."""
    exc = _page_error(exc)
    if isinstance(exc, TwilioRestException):
        code = exc.code if isinstance(exc.code, int) else None
        message = str(exc.msg or exc)
        pushback = exc.status in _PUSHBACK_STATUSES
        if exc.status == 429 or code in _REFUSED_CODES:
            return TransientSendError(
                f"refused by Twilio ({exc.status}): {message}",
                ambiguous=False,
                code=code,
                pushback=pushback or code == 20429,
                retry_after=retry_after,
            )
        if exc.status in _PERMANENT_STATUSES:
            return PermanentSendError(code, message, exc.status)
        return TransientSendError(
            f"Twilio answered {exc.status}: {message}",
            ambiguous=True,
            code=code,
            pushback=pushback,
            retry_after=retry_after,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransientSendError(f"cannot connect to Twilio: {exc}", ambiguous=False)
    if isinstance(exc, TimeoutError):
        return TransientSendError("Twilio did not answer in time", ambiguous=True)
    if isinstance(exc, aiohttp.ClientError):
        return TransientSendError(f"connection to Twilio failed: {exc}", ambiguous=True)
    raise exc


def _page_error(exc: BaseException) -> BaseException:
    """A list page Twilio refused comes as a bare ``TwilioException`` with the response:
    the same error as any other refusal, once its status and code are read."""
    args = exc.args
    response = args[1] if len(args) > 1 else None
    if isinstance(exc, TwilioRestException) or not isinstance(response, Response):
        return exc
    try:
        body = json.loads(response.text)
    except ValueError:
        body = {}
    details = body if isinstance(body, dict) else {}
    code = details.get("code")
    message = str(details.get("message") or args[0])
    rest: BaseException = TwilioRestException(
        response.status_code, "", message, code if isinstance(code, int) else None
    )
    return rest


class TwilioSender:
    """Owns one Twilio client with its HTTP session; create once per process and reuse."""

    def __init__(self, settings: Settings, http_client: AsyncHttpClient | None = None) -> None:
        credentials = settings.twilio_credentials()
        self._settings = settings
        self._http = http_client or AsyncTwilioHttpClient(
            timeout=settings.twilio_timeout_seconds, logger=_HTTP_LOGGER
        )
        self._client = Client(
            credentials.username,
            credentials.password,
            account_sid=credentials.account_sid,
            http_client=_HeaderClient(self._http),
        )
        if settings.api_base_url:
            self._client.api.base_url = settings.api_base_url

    async def close(self) -> None:
        close = getattr(self._http, "close", None)
        if close is not None:
            await close()

    async def _guarded(self, call: Any) -> Any:
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self._settings.twilio_timeout_seconds + 1):
                return await call
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            raise classify(exc, _retry_after.get()) from exc

    def _sender(self, request: OutboundRequest) -> dict[str, Any]:
        if request.from_:
            return {"from_": request.from_}
        if request.kind == "sms" and self._settings.messaging_service_sid:
            return {"messaging_service_sid": self._settings.messaging_service_sid}
        if self._settings.from_number:
            return {"from_": self._settings.from_number}
        raise MissingSenderError(request.kind)

    async def send(self, request: OutboundRequest) -> SentResult:
        params = self._sender(request)
        callback = self._settings.status_callback_url(request.id)
        if callback:
            params["status_callback"] = callback
        if request.kind == "sms":
            if request.body:
                params["body"] = request.body
            if request.media_urls:
                params["media_url"] = list(request.media_urls)
            with client_span("twilio messages create", **{"gateway.id": request.id}) as span:
                message = await self._guarded(
                    self._client.messages.create_async(to=request.to, **params)
                )
                span.set_attribute("twilio.sid", str(message.sid))
            return _result(message)
        if callback:
            params["status_callback_event"] = CALL_EVENTS
        if request.url:
            params["url"] = request.url
        else:
            params["twiml"] = request.twiml or say_response(
                request.say or "",
                voice=request.voice or self._settings.voice_voice,
                language=request.language or self._settings.voice_language,
            )
        with client_span("twilio calls create", **{"gateway.id": request.id}) as span:
            call = await self._guarded(self._client.calls.create_async(to=request.to, **params))
            span.set_attribute("twilio.sid", str(call.sid))
        return _result(call)

    async def find_candidates(self, request: OutboundRequest, since: datetime) -> list[SentResult]:
        """Twilio's resources that an earlier attempt of ``request`` may have created.

        Twilio keeps no client reference on a message or call, so a candidate is one to the
        same recipient (from the same number, unless a Messaging Service picks it; with the
        same body, for an sms) created since the attempt's claim. Lists come newest first, so paging
        stops at the first older resource. Twilio's ``DateSent>`` filter cannot be used: a
        message still queued at Twilio has no ``date_sent`` and would be missed.
        """
        after = since - RECONCILE_SKEW
        filters: dict[str, Any] = {"to": request.to, "page_size": RECONCILE_PAGE_SIZE}
        filters.update({k: v for k, v in self._sender(request).items() if k == "from_"})
        resources = self._client.messages if request.kind == "sms" else self._client.calls
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self._settings.twilio_timeout_seconds * 4):
                return await self._scan(resources, filters, request, after)
        except (TwilioException, aiohttp.ClientError, TimeoutError) as exc:
            raise classify(exc, _retry_after.get()) from exc

    async def _scan(
        self, resources: Any, filters: dict[str, Any], request: OutboundRequest, after: datetime
    ) -> list[SentResult]:
        found: list[SentResult] = []
        scanned = 0
        async for resource in await resources.stream_async(**filters):
            created = resource.date_created
            if created is not None and created < after:
                return found
            scanned += 1
            if scanned > RECONCILE_MAX_SCANNED:
                raise TransientSendError(
                    f"more than {RECONCILE_MAX_SCANNED} sends to this number since the claim",
                    ambiguous=True,
                )
            if request.kind == "call" or (resource.body or "") == (request.body or ""):
                found.append(_result(resource))
        return found

    async def delete(self, resource: str, sid: str) -> DeleteOutcome:
        """Twilio refuses with 20009 to delete what is not final yet; that, a 5xx or no answer
        is ``LATER``, 404 is ``GONE``. A DELETE is safe to repeat, unlike a POST."""
        clients = {"sms": self._client.messages, "call": self._client.calls,
                   "recording": self._client.recordings}  # fmt: skip
        context = clients[resource](sid)
        try:
            async with asyncio.timeout(self._settings.twilio_timeout_seconds + 1):
                await context.delete_async()
        except TwilioRestException as exc:
            if exc.status == 404 or exc.code == NOT_FOUND_CODE:
                return DeleteOutcome.GONE
            logs.warning("twilio_delete_refused", sid=sid, status=exc.status, code=exc.code)
            return DeleteOutcome.LATER
        except (aiohttp.ClientError, TimeoutError) as exc:
            logs.warning("twilio_delete_unreachable", sid=sid, error=type(exc).__name__)
            return DeleteOutcome.LATER
        return DeleteOutcome.DELETED

    async def fetch(self, kind: str, sid: str) -> SentResult:
        """The resource as Twilio knows it now: the status checks' source of truth."""
        context = self._client.messages(sid) if kind == "sms" else self._client.calls(sid)
        return _result(await self._guarded(context.fetch_async()))


class _HeaderClient(AsyncHttpClient):  # type: ignore[misc]
    """The transport, passed through, keeping the one header Twilio's exceptions drop:
    ``Retry-After``. It is kept per task (a context variable), so concurrent sends never
    read each other's."""

    def __init__(self, inner: AsyncHttpClient) -> None:
        super().__init__(_HTTP_LOGGER, is_async=True, timeout=getattr(inner, "timeout", None))
        self._inner = inner

    async def request(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = await self._inner.request(*args, **kwargs)
        headers = getattr(response, "headers", None) or {}
        raw = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
        if raw is not None:
            _retry_after.set(retry_after_seconds(str(raw)))
        return response

    async def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            await close()


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (RFC 9110)."""
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class DeleteOutcome(enum.Enum):
    DELETED = "deleted"
    GONE = "gone"  # Twilio does not know it (deleted before, or never there)
    LATER = "later"  # not final yet (20009), or Twilio could not be reached: try again


NOT_FINAL_YET_CODE = 20009
NOT_FOUND_CODE = 20404


def _result(resource: Any) -> SentResult:
    # Twilio's library names the field ``from_`` on messages and ``_from`` on calls.
    sender = getattr(resource, "from_", None) or getattr(resource, "_from", None)
    code = getattr(resource, "error_code", None)
    return SentResult(
        str(resource.sid),
        str(resource.status),
        str(sender) if sender else None,
        created=resource.date_created,
        error_code=code if isinstance(code, int) else None,
        error_message=getattr(resource, "error_message", None) or None,
    )
