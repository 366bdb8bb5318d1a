"""A stand-in for Twilio's HTTP transport, injected as the ``twilio`` client's ``http_client``.

It answers the way Twilio's REST API does (JSON bodies, 201 on create, error bodies with a
code) and records every request, so tests see exactly what the gateway sent.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
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

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


@dataclass
class CannedFailure:
    status: int
    code: int | None = None
    message: str = "failure"
    raise_instead: BaseException | None = None


@dataclass
class FakeTwilio(AsyncHttpClient):  # type: ignore[misc]
    requests: list[RecordedRequest] = field(default_factory=list)
    failures: list[CannedFailure] = field(default_factory=list)
    listed: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logging.getLogger("fake_twilio"), True, None)

    def fail_next(self, *failures: CannedFailure) -> None:
        self.failures.extend(failures)

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
        recorded = RecordedRequest(method, url, dict(data or {}), dict(params or {}))
        self.requests.append(recorded)
        if self.failures:
            failure = self.failures.pop(0)
            if failure.raise_instead is not None:
                raise failure.raise_instead
            body = {"code": failure.code, "message": failure.message, "status": failure.status}
            return Response(failure.status, json.dumps(body))
        if method == "GET":
            key = "messages" if recorded.path.endswith("Messages.json") else "calls"
            return Response(200, json.dumps({key: self.listed, "next_page_uri": None}))
        if recorded.path.endswith("Messages.json"):
            return Response(201, json.dumps(_message(recorded.data)))
        return Response(201, json.dumps(_call(recorded.data)))


def _message(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": "SM" + secrets.token_hex(16),
        "status": "queued" if data.get("From") else "accepted",
        "to": data.get("To"),
        "from": data.get("From"),
        "body": data.get("Body"),
        "date_created": "Thu, 26 Nov 2026 16:00:00 +0000",
    }


def _call(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": "CA" + secrets.token_hex(16),
        "status": "queued",
        "to": data.get("To"),
        "from": data.get("From"),
        "date_created": "Thu, 26 Nov 2026 16:00:00 +0000",
    }
