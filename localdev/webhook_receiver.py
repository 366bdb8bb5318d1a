"""A webhook receiver for the gateway's events, for the local stack and tests.

Any ``POST /<path>`` is checked with ``standardwebhooks.Webhook(secret).verify`` (any of the
secrets given at start passes, as during a rotation) and answered 204 when the signature is
valid, 401 when it is not. Everything that arrives is kept, verified or not, with the answer
it got: ``GET /received``, ``DELETE /received``. Faults: ``POST /faults`` and
``DELETE /faults`` (see ``localdev.stand_in_faults``), e.g. ``{"status": 410}`` or
``{"status": 410, "path": "/hooks/a"}``; ``/received`` and ``/faults`` are the receiver's own.

``python -m localdev.webhook_receiver --port 4030 --secret whsec_...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import (
    EmptyWebhookSecretError,
    Webhook,
    WebhookVerificationError,
)

from localdev.aiohttp_server import AiohttpServer
from localdev.event_grid import add_fault, serve_until_signalled
from localdev.stand_in_faults import Faults

log = logging.getLogger("localdev.webhook_receiver")

DEFAULT_PORT = 4030
# whsec_ + base64 of "local-webhook-secret-not-for-az" : for the local stack only.
DEFAULT_SECRET = "whsec_bG9jYWwtd2ViaG9vay1zZWNyZXQtbm90LWZvci1heg=="
KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")


def verify(body: bytes, headers: dict[str, str], secrets: Sequence[str]) -> str | None:
    """None when any secret verifies the request, else why none did."""
    reason = "no secret"
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
        except WebhookVerificationError as exc:
            reason = str(exc)
        except (ValueError, UnicodeDecodeError):
            reason = "malformed signature headers or body"
        else:
            return None
    return reason


class WebhookReceiverStandIn(AiohttpServer):
    what = "webhook receiver"

    def __init__(
        self, secrets: Sequence[str] = (DEFAULT_SECRET,), *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if not secrets:
            raise ValueError("the webhook receiver needs at least one secret")
        for secret in secrets:
            try:
                Webhook(secret)  # refuse an unusable secret at start, not on the first request
            except (ValueError, EmptyWebhookSecretError):
                raise ValueError("a secret is whsec_ followed by base64") from None
        self.secrets = tuple(secrets)
        self.faults = Faults()
        self.received: list[dict[str, Any]] = []
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/received", self._list_received)
        app.router.add_delete("/received", self._clear_received)
        app.router.add_post("/faults", self._add_fault)
        app.router.add_get("/faults", self._list_faults)
        app.router.add_delete("/faults", self._clear_faults)
        app.router.add_post("/{tail:.*}", self._receive)
        super().__init__(app, host=host, port=port, shutdown_timeout=2.0, access_log=None)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        problem = verify(body, headers, self.secrets)
        record: dict[str, Any] = {
            "received_at": datetime.now(UTC).isoformat(),
            "path": request.path,
            "verified": problem is None,
            "problem": problem,
            "headers": {name: headers[name] for name in KEPT_HEADERS if name in headers},
            "body": body.decode("utf-8", "replace"),
            "event": _json_or_none(body),
        }
        self.received.append(record)
        failure = await self.faults.before_answer(request.path)
        if failure is not None:
            answer = web.json_response(
                {"error": "injected by the receiver's fault controls"},
                status=failure.status,
                headers=failure.headers,
            )
        elif problem is None:
            answer = web.Response(status=204)
        else:
            answer = web.json_response({"error": f"signature not verified: {problem}"}, status=401)
        record["status"] = answer.status
        log.info("%s: %s -> %d", request.path, headers.get("webhook-id", "?"), answer.status)
        return answer

    async def _list_received(self, request: web.Request) -> web.Response:
        return web.json_response(self.received)

    async def _clear_received(self, request: web.Request) -> web.Response:
        self.received.clear()
        return web.Response(status=204)

    async def _add_fault(self, request: web.Request) -> web.Response:
        return await add_fault(self.faults, request)

    async def _list_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.as_json())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.Response(status=204)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localdev.webhook_receiver", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--secret",
        action="append",
        help="a Standard Webhooks secret (whsec_...); repeat for a rotation",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    try:
        server = WebhookReceiverStandIn(
            args.secret or [DEFAULT_SECRET], host=args.host, port=args.port
        )
    except ValueError as exc:
        log.critical("cannot start: %s", exc)
        return 2
    asyncio.run(serve_until_signalled(server, "webhook receiver"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
