"""POSTs one event to a webhook, signed the Standard Webhooks way, and reads the answer as an
``Outcome``.

The address is checked where it is used: the connector's resolver refuses an answer that holds
any non-public address, and the connection goes to the very addresses it checked (no second
lookup, so a name that changes its answer between a check and a connect cannot get through).
Redirects are not followed: a 3xx is refused, as a redirect could point anywhere.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from shared.publish.addresses import parse_address, why_unsafe
from shared.publish.outcome import Outcome, Refused, RetryLater, outcome_of_status
from shared.publish.signing import signature_headers

USER_AGENT = "twilio-functions-gateway-events/1"


class UnsafeAddressError(Exception):
    """A webhook's host is, or resolves to, an address the gateway does not send to. Not an
    ``OSError``, so that aiohttp lets it through instead of calling it a DNS failure."""


def why_refused(url: str, *, allow_private_addresses: bool = False) -> str | None:
    """Why this URL is not a webhook the gateway sends to, from its text alone (no lookup):
    HTTPS only (plain HTTP only where private addresses are allowed, i.e. the local stack),
    a host, no credentials in it, and an IP literal that is public. None: it may be tried."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return "not a URL"
    allowed = ("https", "http") if allow_private_addresses else ("https",)
    if parsed.scheme not in allowed:
        return "the URL's scheme must be https" + (" or http" if allow_private_addresses else "")
    if not parsed.host:
        return "the URL has no host"
    if parsed.user is not None or parsed.password is not None:
        return "the URL carries credentials"
    literal = parse_address(parsed.host)
    if literal is not None and not allow_private_addresses:
        reason = why_unsafe(literal)
        if reason is not None:
            return f"the URL's host is {reason}"
    return None


class CheckedResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses the whole answer when any address is unsafe
    (an attacker's name may list a public address first and a private one second)."""

    def __init__(self, inner: AbstractResolver, *, allow_private_addresses: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private_addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for answer in answers:
                reason = why_unsafe(ipaddress.ip_address(answer["host"]))
                if reason is not None:
                    raise UnsafeAddressError(f"{host} resolves to {reason}")
        return answers

    async def close(self) -> None:
        await self._inner.close()


def event_body(event: Mapping[str, Any]) -> str:
    """The JSON sent, and signed, byte for byte."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


class WebhookSender:
    """One per process: a pooled HTTP session, created on first use inside the event loop."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 15,
        allow_private_addresses: bool = False,
        resolver: AbstractResolver | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be above 0")
        self._timeout = timeout_seconds
        self._allow_private = allow_private_addresses
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            inner = self._resolver or aiohttp.ThreadedResolver()
            connector = aiohttp.TCPConnector(
                resolver=CheckedResolver(inner, allow_private_addresses=self._allow_private),
                use_dns_cache=False,
                limit=100,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                trust_env=False,
            )
        return self._session

    async def send(self, url: str, event: Mapping[str, Any], secrets: Sequence[str]) -> Outcome:
        """POST the event as JSON with ``webhook-id`` (the event id), ``webhook-timestamp``
        and ``webhook-signature``; what the answer (or its absence) means for the event."""
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise ValueError("an event to send has a non-empty string id")
        body = event_body(event)
        headers = {
            **signature_headers(event_id, body, secrets),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        problem = why_refused(url, allow_private_addresses=self._allow_private)
        if problem is not None:
            return Refused(problem)
        who = f"the webhook on {URL(url).host}"
        try:
            async with self._client().post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as answer:
                return outcome_of_status(answer.status, who, answer.headers.get("Retry-After"))
        except UnsafeAddressError as exc:
            return Refused(str(exc))
        except aiohttp.InvalidURL:
            return Refused(f"{who}: the URL is not one the gateway can send to")
        except TimeoutError:
            return RetryLater(f"{who} did not answer within {self._timeout:g} s")
        except aiohttp.ClientError as exc:
            return RetryLater(f"{who} could not be reached ({type(exc).__name__})")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
