"""Outbound sends through the official ``twilio`` client, and the one place that classifies
Twilio's failures as permanent (record and stop) or transient (raise so the host retries).

Only the queue worker imports this module, so webhooks never pay for ``twilio.rest``.
The client's own retry option stays off: a retried POST after a 5xx can send twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from shared.outbound import OutboundRequest
from shared.settings import Settings
from shared.twiml import say_response

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
RECONCILE_SKEW = timedelta(minutes=2)
# 4xx statuses Twilio uses for requests that will fail the same way every time.
_PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 415, 422})
# twilio's HTTP client logs every request at INFO, query strings with phone numbers included.
_HTTP_LOGGER = logging.getLogger("gateway.twilio_http")
_HTTP_LOGGER.setLevel(logging.WARNING)


@dataclass(frozen=True)
class SentResult:
    sid: str
    status: str
    from_: str | None = None


class PermanentSendError(Exception):
    """Twilio refused the request for good (invalid number, opted out, bad credentials...)."""

    def __init__(self, code: int | None, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class TransientSendError(Exception):
    """Worth retrying. ``ambiguous`` means Twilio may have acted on the request anyway."""

    def __init__(self, reason: str, *, ambiguous: bool, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous
        self.code = code


class MissingSenderError(PermanentSendError):
    def __init__(self, kind: str) -> None:
        setting = "TWILIO_FROM_NUMBER" if kind == "call" else "TWILIO_FROM_NUMBER or "
        if kind != "call":
            setting += "TWILIO_MESSAGING_SERVICE_SID"
        super().__init__(None, f"no 'from' in the request and {setting} is not set")


def classify(exc: BaseException) -> PermanentSendError | TransientSendError:
    if isinstance(exc, TwilioRestException):
        code = exc.code if isinstance(exc.code, int) else None
        message = str(exc.msg or exc)
        if exc.status == 429 or code == 20429:
            return TransientSendError(f"rate limited: {message}", ambiguous=False, code=code)
        if exc.status in _PERMANENT_STATUSES:
            return PermanentSendError(code, message, exc.status)
        return TransientSendError(
            f"Twilio answered {exc.status}: {message}", ambiguous=True, code=code
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransientSendError(f"cannot connect to Twilio: {exc}", ambiguous=False)
    if isinstance(exc, TimeoutError):
        return TransientSendError("Twilio did not answer in time", ambiguous=True)
    if isinstance(exc, aiohttp.ClientError):
        return TransientSendError(f"connection to Twilio failed: {exc}", ambiguous=True)
    raise exc


class TwilioSender:
    """Owns one Twilio client with its HTTP session; create once per process and reuse."""

    def __init__(self, settings: Settings, http_client: AsyncHttpClient | None = None) -> None:
        credentials = settings.twilio_credentials()
        self._settings = settings
        self._http = http_client or AsyncTwilioHttpClient(timeout=settings.twilio_timeout_seconds)
        self._client = Client(
            credentials.username,
            credentials.password,
            account_sid=credentials.account_sid,
            http_client=self._http,
        )
        if settings.api_base_url:
            self._client.api.base_url = settings.api_base_url

    async def close(self) -> None:
        close = getattr(self._http, "close", None)
        if close is not None:
            await close()

    async def _guarded(self, call: Any) -> Any:
        try:
            async with asyncio.timeout(self._settings.twilio_timeout_seconds + 1):
                return await call
        except (TwilioRestException, aiohttp.ClientError, TimeoutError) as exc:
            raise classify(exc) from exc

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
            message = await self._guarded(
                self._client.messages.create_async(to=request.to, **params)
            )
            return _result(message)
        if callback:
            params["status_callback_event"] = CALL_EVENTS
        if request.url:
            params["url"] = request.url
        else:
            params["twiml"] = request.twiml or say_response(request.say or "")
        call = await self._guarded(self._client.calls.create_async(to=request.to, **params))
        return _result(call)

    async def find_sent(self, request: OutboundRequest, since: datetime) -> SentResult | None:
        """Look in Twilio's own records for a send that an earlier attempt may have made.

        Twilio keeps no client reference on a message or call, so a match is the same
        recipient (and body, for an sms) created after the attempt's claim.
        """
        after = since - RECONCILE_SKEW
        if request.kind == "sms":
            messages = await self._guarded(
                self._client.messages.list_async(to=request.to, limit=50)
            )
            for message in messages:
                created = message.date_created
                if (created is None or created >= after) and (message.body or "") == (
                    request.body or ""
                ):
                    return _result(message)
            return None
        calls = await self._guarded(self._client.calls.list_async(to=request.to, limit=50))
        for call in calls:
            if call.date_created is None or call.date_created >= after:
                return _result(call)
        return None


def _result(resource: Any) -> SentResult:
    # Twilio's library names the field ``from_`` on messages and ``_from`` on calls.
    sender = getattr(resource, "from_", None) or getattr(resource, "_from", None)
    return SentResult(str(resource.sid), str(resource.status), str(sender) if sender else None)
