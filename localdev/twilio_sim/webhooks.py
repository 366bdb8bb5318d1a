"""Signed requests from 'Twilio' to the application: status callbacks, TwiML fetches, webhooks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator
from yarl import URL

from localdev.twilio_sim.store import CallbackRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookReply:
    url: str
    method: str
    params: dict[str, str]
    signature: str
    status: int | None
    content_type: str | None
    body: str | None
    error: str | None

    def as_callback(self) -> CallbackRecord:
        return CallbackRecord(
            url=self.url,
            method=self.method,
            params=dict(self.params),
            signature=self.signature,
            status=self.status,
            error=self.error,
        )


def with_query(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class WebhookClient:
    """Signs like Twilio: over the full URL plus sorted POST params, or the URL alone for GET.

    The URL goes out byte for byte as signed; letting yarl re-quote the query would
    change what the application hashes and break GET signatures.
    """

    def __init__(self, session: aiohttp.ClientSession, auth_token: str) -> None:
        self._session = session
        self._validator = RequestValidator(auth_token)

    def sign(self, url: str, params: dict[str, str]) -> str:
        signature: str = self._validator.compute_signature(url, params)
        return signature

    async def request(self, url: str, method: str, params: dict[str, str]) -> WebhookReply:
        method = method.upper()
        target = with_query(url, params) if method == "GET" else url
        signature = self.sign(target, {} if method == "GET" else params)
        headers = {
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1 (twilio_sim)",
            "Accept": "*/*",
        }
        try:
            async with self._session.request(
                method,
                URL(target, encoded=True),
                data=None if method == "GET" else params,
                headers=headers,
                allow_redirects=False,
            ) as response:
                body = await response.text(errors="replace")
                return WebhookReply(
                    url=target,
                    method=method,
                    params=params,
                    signature=signature,
                    status=response.status,
                    content_type=response.headers.get("Content-Type"),
                    body=body,
                    error=None,
                )
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("%s %s failed: %r", method, target, error)
            return WebhookReply(
                url=target,
                method=method,
                params=params,
                signature=signature,
                status=None,
                content_type=None,
                body=None,
                error=repr(error),
            )
