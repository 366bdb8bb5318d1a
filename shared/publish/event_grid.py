"""Publishes CloudEvents to an Event Grid topic (custom topic or namespace topic) through
``azure-eventgrid``'s async client, and reads the answer as an ``Outcome``.

The SDK's own retries and redirects are off: the delivery layer retries with its own schedule
(days, not seconds) and needs each answer, ``Retry-After`` included. The SDK does not split a
list of events, so ``batches`` keeps each request within Event Grid's 1 MB.

Identity: pass ``credential`` (an ``azure.identity.aio`` credential, e.g.
``ManagedIdentityCredential``; the identity needs the role "EventGrid Data Sender" on the
topic) instead of ``key``. Token credentials are only ever sent over TLS, so an ``http://``
endpoint (the local stand-in) takes a key.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.eventgrid.aio import EventGridPublisherClient

from shared.publish.outcome import (
    Delivered,
    Gone,
    Outcome,
    Refused,
    RetryLater,
    outcome_of_status,
)

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

# Event Grid's limit on one publish request's body.
MAX_REQUEST_BYTES = 1024 * 1024
# Room for what the SDK may add to an event: its own spelling of ``time`` and, while tracing is
# on, the ``traceparent`` and ``tracestate`` of the request copied into every event.
_SLACK_PER_EVENT = 512
WHO = "Event Grid"


def event_bytes(event: Mapping[str, Any]) -> int:
    """An upper bound of the event's size in the request: the SDK writes ``json.dumps`` with
    its defaults (ASCII escapes, spaced separators), the largest of the usual spellings."""
    return len(json.dumps(event).encode()) + _SLACK_PER_EVENT


def request_bytes(sizes: Sequence[int]) -> int:
    """A JSON array of events of these sizes: brackets and a ", " between two."""
    return 2 + sum(sizes) + 2 * max(0, len(sizes) - 1)


def topic_endpoint(endpoint: str, namespace_topic: str | None) -> str:
    """A custom topic is published to ``/api/events``; the portal shows the endpoint with it,
    and a bare host is completed. A namespace endpoint is the host alone."""
    parts = urlsplit(endpoint.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(
            "the Event Grid endpoint is a URL: https://<topic>.<region>-1.eventgrid.azure.net"
        )
    if namespace_topic:
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    path = parts.path if parts.path not in ("", "/") else "/api/events"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class EventGridPublisher:
    """One per process and topic."""

    def __init__(
        self,
        endpoint: str,
        *,
        key: str | None = None,
        credential: AsyncTokenCredential | None = None,
        namespace_topic: str | None = None,
        timeout_seconds: float = 15,
    ) -> None:
        if (key is None) == (credential is None):
            raise ValueError("an Event Grid publisher takes a key or a token credential, one")
        url = topic_endpoint(endpoint, namespace_topic)
        if credential is not None and not url.startswith("https://"):
            raise ValueError("a token credential is sent over https only; use a key for http")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be above 0")
        self._timeout = timeout_seconds
        auth: AzureKeyCredential | AsyncTokenCredential = (
            AzureKeyCredential(key) if key is not None else credential  # type: ignore[assignment]
        )
        self._client = EventGridPublisherClient(
            url,
            auth,
            namespace_topic=namespace_topic or None,
            retry_total=0,
            permit_redirects=False,
            connection_timeout=timeout_seconds,
            read_timeout=timeout_seconds,
        )

    def batches(self, events: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
        """In order; each batch's JSON within Event Grid's 1 MB a request (the SDK does not
        split). An event over the limit alone is its own batch (publish refuses it)."""
        found: list[list[Mapping[str, Any]]] = []
        current: list[Mapping[str, Any]] = []
        sizes: list[int] = []
        for event in events:
            size = event_bytes(event)
            if current and request_bytes([*sizes, size]) > MAX_REQUEST_BYTES:
                found.append(current)
                current, sizes = [], []
            current.append(event)
            sizes.append(size)
        if current:
            found.append(current)
        return found

    async def publish(self, batch: Sequence[Mapping[str, Any]]) -> Outcome:
        """One request with the whole batch (use ``batches`` first)."""
        if not batch:
            raise ValueError("an empty batch has nothing to publish")
        size = request_bytes([event_bytes(event) for event in batch])
        if size > MAX_REQUEST_BYTES:
            return Refused(f"{size} bytes of events is over Event Grid's 1 MB a request")
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.send([dict(event) for event in batch])
        except HttpResponseError as exc:
            return _outcome_of_error(exc)
        except (ServiceRequestError, ServiceResponseError) as exc:
            return RetryLater(f"{WHO} could not be reached ({type(exc).__name__})")
        except TimeoutError:
            return RetryLater(f"{WHO} did not answer within {self._timeout:g} s")
        return Delivered(200)

    async def close(self) -> None:
        await self._client.close()


def _outcome_of_error(exc: HttpResponseError) -> Outcome:
    # The namespace client re-raises a 404 as a new error without the response: the cause has it.
    source = exc if exc.response is not None else exc.__cause__
    response = getattr(source, "response", None)
    status = getattr(response, "status_code", None)
    if not isinstance(status, int):
        if isinstance(exc, ClientAuthenticationError):
            return RetryLater(f"{WHO}: no token for the identity ({type(exc).__name__})")
        return Refused(f"{WHO} refused the events ({type(exc).__name__})")
    headers = getattr(response, "headers", None) or {}
    outcome = outcome_of_status(status, WHO, headers.get("Retry-After"))
    code = _error_code(response)
    if code and isinstance(outcome, RetryLater | Gone | Refused):
        return replace(outcome, reason=f"{outcome.reason} ({code})")
    return outcome


def _error_code(response: Any) -> str | None:
    """Event Grid's error code (``Unauthorized``, ``BadRequest``...): names the problem without
    repeating a message that may quote the request."""
    try:
        error = json.loads(response.text()).get("error", {})
    except (ValueError, AttributeError, TypeError):
        return None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code)[:80] if code else None
