"""A stand-in application for tests: records what 'Twilio' sent and checks every signature."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import encode_basic_auth, web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import (
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.rest import Client

from localdev.aiohttp_server import AiohttpServer

DEFAULT_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hello</Say></Response>'


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    method: str
    url: str
    params: dict[str, str]
    signature: str | None
    signature_valid: bool
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass(frozen=True)
class CannedReply:
    status: int = 200
    body: str = DEFAULT_TWIML
    content_type: str = "text/xml"


class WebhookReceiver(AiohttpServer):
    """Answers every path with a canned reply (TwiML by default) unless told otherwise."""

    what = "receiver"

    def __init__(
        self, auth_token: str, host: str = "127.0.0.1", shared_keys: dict[str, str] | None = None
    ) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        super().__init__(app, host=host, shutdown_timeout=1.0)
        self.requests: list[ReceivedRequest] = []
        self._auth_token = auth_token
        self._shared_keys = shared_keys or {}
        self._replies: dict[str, CannedReply] = {}
        self._arrived = asyncio.Condition()

    def url(self, path: str) -> str:
        return self.base_url + path

    def reply(
        self, path: str, body: str, status: int = 200, content_type: str = "text/xml"
    ) -> None:
        self._replies[path] = CannedReply(status=status, body=body, content_type=content_type)

    def received(self, path: str) -> list[ReceivedRequest]:
        return [request for request in self.requests if request.path == path]

    async def wait_for(self, path: str, count: int, within: float = 5.0) -> list[ReceivedRequest]:
        async def enough() -> None:
            async with self._arrived:
                await self._arrived.wait_for(lambda: len(self.received(path)) >= count)

        await asyncio.wait_for(enough(), within)
        return self.received(path)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        form = await request.post() if request.method == "POST" else {}
        params = {key: str(value) for key, value in form.items()}
        signature = request.headers.get("X-Twilio-Signature")
        url = str(request.url)
        signed: dict[str, str] | str = body if "bodySHA256" in request.query else params
        valid = signature is not None and self._valid(request, url, signed, signature)
        received = ReceivedRequest(
            path=request.path,
            method=request.method,
            url=url,
            params=params if request.method == "POST" else dict(request.query),
            signature=signature,
            signature_valid=valid,
            headers=dict(request.headers),
            body=body,
        )
        async with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()
        canned = self._replies.get(request.path, CannedReply())
        return web.Response(
            status=canned.status, text=canned.body, content_type=canned.content_type
        )

    def _valid(
        self, request: web.Request, url: str, signed: dict[str, str] | str, signature: str
    ) -> bool:
        """With the auth token, or with the shared key the settings header names."""
        signature_settings = request.headers.get(SIGNATURE_SETTINGS_HEADER, "")
        secret: str | None = self._auth_token
        if signature_settings:
            named = [part.strip().partition("=") for part in signature_settings.split(",")]
            key_id = next((value for name, _, value in named if name == "key"), "")
            secret = self._shared_keys.get(key_id)
        if secret is None:
            return False
        algorithm = get_signature_algorithm(signature_settings)
        return bool(RequestValidator(secret).validate(url, signed, signature, algorithm=algorithm))


class HeaderAuthTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's async client, minus aiohttp's deprecated BasicAuth (its warning fails tests)."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - twilio's signature
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            headers = {**(headers or {}), "Authorization": encode_basic_auth(*auth)}
        response: Response = await super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )
        return response


@asynccontextmanager
async def official_client(
    base_url: str, username: str, password: str, account_sid: str | None = None
) -> AsyncIterator[Client]:
    """Twilio's own async client, pointed at the simulator and closed afterwards."""
    http_client = HeaderAuthTwilioHttpClient()
    try:
        client = Client(username, password, account_sid=account_sid, http_client=http_client)
        client.api.base_url = base_url
        yield client
    finally:
        await http_client.close()
