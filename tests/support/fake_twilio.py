"""A stand-in for Twilio's HTTP transport, injected as the ``twilio`` client's ``http_client``.

It answers the way Twilio's REST API does (JSON bodies, 201 on create, error bodies with a
code) and records every request, so tests see exactly what the gateway sent. Scripted
outcomes (a ``Response`` or an exception to raise) are used first, in order.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from twilio.http import AsyncHttpClient
from twilio.http.response import Response


@dataclass
class RecordedRequest:
    method: str
    url: str
    data: dict[str, Any]
    params: dict[str, Any]
    auth: tuple[str, str] | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def reply(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, json.dumps(payload))


def twilio_error(status: int, code: int, message: str = "refused") -> Response:
    """Twilio's error body, as its REST API answers a refused request."""
    return reply(status, {"code": code, "message": message, "more_info": "", "status": status})


class FakeTwilio(AsyncHttpClient):  # type: ignore[misc]
    def __init__(self, *outcomes: Response | BaseException) -> None:
        super().__init__(logging.getLogger("tests.fake_twilio"), is_async=True, timeout=5.0)
        self.outcomes: list[Response | BaseException] = list(outcomes)
        self.requests: list[RecordedRequest] = []
        self.listed: list[dict[str, Any]] = []
        # Answers to fetches by SID, whatever order concurrent fetches arrive in.
        self.resources: dict[str, dict[str, Any]] = {}

    def script(self, *outcomes: Response | BaseException) -> None:
        self.outcomes.extend(outcomes)

    @property
    def creates(self) -> list[RecordedRequest]:
        return [request for request in self.requests if request.method == "POST"]

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's interface
        allow_redirects: bool = False,
    ) -> Response:
        recorded = RecordedRequest(method, url, dict(data or {}), dict(params or {}), auth)
        self.requests.append(recorded)
        fetched = recorded.path.rpartition("/")[2].removesuffix(".json")
        if method == "GET" and fetched in self.resources:
            return reply(200, self.resources[fetched])
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        if method == "GET":
            key = "messages" if recorded.path.endswith("Messages.json") else "calls"
            return reply(200, {key: self.listed, "next_page_uri": None})
        if recorded.path.endswith("Messages.json"):
            return reply(201, _resource("SM", recorded.data))
        return reply(201, _resource("CA", recorded.data))


def _resource(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": prefix + secrets.token_hex(16),
        "status": "queued" if data.get("From") else "accepted",
        "to": data.get("To"),
        "from": data.get("From"),
        "body": data.get("Body"),
        "date_created": "Thu, 26 Nov 2026 16:00:00 +0000",
    }
