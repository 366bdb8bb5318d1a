"""Builders for ``func.HttpRequest`` as the Functions host hands them to the app."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import azure.functions as func
from twilio.request_validator import RequestValidator

HOST = "http://localhost:7071"


def api_post(route: str, body: Any, headers: dict[str, str] | None = None) -> func.HttpRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        "POST",
        f"{HOST}/api/{route}",
        headers={"Content-Type": "application/json", **(headers or {})},
        body=raw,
    )


def api_get(route: str, route_params: dict[str, str]) -> func.HttpRequest:
    return func.HttpRequest("GET", f"{HOST}/api/{route}", route_params=route_params, body=b"")


def signed_form(
    url: str, params: dict[str, str], auth_token: str, *, signature: str | None = None
) -> func.HttpRequest:
    """A webhook as Twilio sends it to ``url`` (the public URL), signed with the token."""
    parts = urlsplit(url)
    sig = signature or RequestValidator(auth_token).compute_signature(url, params)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    return func.HttpRequest(
        "POST",
        url,
        headers=headers,
        params=dict(parse_qsl(parts.query)),
        body=urlencode(params).encode(),
    )


def trigger_message(message_id: str, body: bytes, dequeue_count: int = 1) -> func.QueueMessage:
    """A queue message as the host hands it to a queue-triggered function."""
    from azure.functions.queue import QueueMessage

    message: func.QueueMessage = QueueMessage(  # type: ignore[no-untyped-call]
        id=message_id, body=body, dequeue_count=dequeue_count
    )
    return message
