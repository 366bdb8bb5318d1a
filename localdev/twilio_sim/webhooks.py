"""Signed requests from 'Twilio' to the application: status callbacks, TwiML fetches, webhooks."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
)
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


@dataclass(frozen=True)
class Signing:
    """What Twilio signs with: the account's auth token (HMAC-SHA1, no settings header) or a
    shared key that a webhook rule names (HMAC-SHA256 and the key id in the header)."""

    secret: str = field(repr=False)
    algorithm: str = HMAC_SHA1
    key_id: str | None = None

    @classmethod
    def shared_key(cls, key_id: str, secret: str, algorithm: str = HMAC_SHA256) -> Signing:
        return cls(secret, algorithm, key_id)

    def headers(self) -> dict[str, str]:
        if self.key_id is None:
            return {}
        return {SIGNATURE_SETTINGS_HEADER: f"key={self.key_id},algorithm={self.algorithm}"}


def with_query(url: str, params: dict[str, str]) -> str:
    if not params:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class WebhookClient:
    """Signs like Twilio: over the full URL plus sorted POST params, or the URL alone for GET
    and for a JSON body (whose SHA-256 goes in the URL as ``bodySHA256``).

    The URL goes out byte for byte as signed; letting yarl re-quote the query would
    change what the application hashes and break GET signatures.
    """

    def __init__(self, session: aiohttp.ClientSession, signing: Signing | str) -> None:
        self._session = session
        self._signing = Signing(signing) if isinstance(signing, str) else signing

    def sign(self, url: str, params: dict[str, str], signing: Signing | None = None) -> str:
        used = signing or self._signing
        validator = RequestValidator(used.secret)
        signature: str = validator.compute_signature(url, params, used.algorithm)
        return signature

    async def request(
        self,
        url: str,
        method: str,
        params: dict[str, str],
        *,
        json_body: str | None = None,
        headers: dict[str, str] | None = None,
        signing: Signing | None = None,
    ) -> WebhookReply:
        method = method.upper()
        used = signing or self._signing
        if json_body is not None:
            digest = hashlib.sha256(json_body.encode("utf-8")).hexdigest()
            target = with_query(url, {"bodySHA256": digest})
            signature = self.sign(target, {}, used)
        else:
            target = with_query(url, params) if method == "GET" else url
            signature = self.sign(target, {} if method == "GET" else params, used)
        sent_headers = {
            **(headers or {}),
            "X-Twilio-Signature": signature,
            "User-Agent": "TwilioProxy/1.1 (twilio_sim)",
            "Accept": "*/*",
            **used.headers(),
        }
        body: str | dict[str, str] | None = None if method == "GET" else params
        if json_body is not None:
            body = json_body
            sent_headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method,
                URL(target, encoded=True),
                data=body,
                headers=sent_headers,
                allow_redirects=False,
            ) as response:
                text = await response.text(errors="replace")
                return WebhookReply(
                    url=target,
                    method=method,
                    params=params,
                    signature=signature,
                    status=response.status,
                    content_type=response.headers.get("Content-Type"),
                    body=text,
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
