"""A stand-in for Event Grid's publish API, for the local stack and tests.

``POST /api/events?api-version=...`` (a custom topic: an Event Grid schema array as
``application/json``, a CloudEvents batch as ``application/cloudevents-batch+json`` or one
CloudEvent as ``application/cloudevents+json``; key in ``aeg-sas-key``) and
``POST /topics/{topic}:publish?api-version=...`` (a namespace topic: CloudEvents; key in
``Authorization: SharedAccessKey ...``, as the SDK sends it). 401 for a missing or wrong key,
400 for a malformed event (Event Grid's error body), 413 over 1 MB, 200 otherwise.

What it took: ``GET /received`` (every accepted event, in arrival order, with its arrival time
and request number), ``GET /requests`` (every request and its answer), ``DELETE /received``.
Faults: ``POST /faults`` and ``DELETE /faults`` (see ``localdev.stand_in_faults``).

``python -m localdev.event_grid --port 4020 --key KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from localdev.aiohttp_server import AiohttpServer
from localdev.stand_in_faults import FaultRuleError, Faults

log = logging.getLogger("localdev.event_grid")

MAX_REQUEST_BYTES = 1024 * 1024
DEFAULT_PORT = 4020
DEFAULT_KEY = "local-event-grid-key"
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
CLOUDEVENT = "application/cloudevents+json"
_CLOUDEVENT_REQUIRED = ("id", "source", "type", "specversion")
_EVENT_GRID_REQUIRED = ("id", "subject", "eventType", "eventTime", "dataVersion")


class MalformedEventsError(ValueError):
    """What Event Grid would answer 400 for; the message says which event and field."""


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": []}}


def _check_cloud_event(index: int, event: Any) -> None:
    if not isinstance(event, dict):
        raise MalformedEventsError(f"event {index}: a CloudEvent is a JSON object")
    for name in _CLOUDEVENT_REQUIRED:
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedEventsError(f"event {index}: required attribute {name} is missing")
    if event["specversion"] != "1.0":
        raise MalformedEventsError(f"event {index}: specversion must be 1.0")
    if "data" in event and "data_base64" in event:
        raise MalformedEventsError(f"event {index}: data and data_base64 are exclusive")


def _check_event_grid_event(index: int, event: Any) -> None:
    if not isinstance(event, dict):
        raise MalformedEventsError(f"event {index}: an Event Grid event is a JSON object")
    for name in _EVENT_GRID_REQUIRED:
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedEventsError(f"event {index}: required property {name} is missing")
    if "data" not in event:
        raise MalformedEventsError(f"event {index}: required property data is missing")


def parse_events(body: bytes, content_type: str, *, namespace: bool) -> tuple[str, list[Any]]:
    """The schema ("cloudevents" or "eventgrid") and the events of a publish request."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedEventsError("the body is not JSON") from None
    if content_type == CLOUDEVENT:
        events, schema = [payload], "cloudevents"
    elif content_type == CLOUDEVENTS_BATCH or namespace:
        events, schema = payload, "cloudevents"
    elif content_type == "application/json":
        events, schema = payload, "eventgrid"
    else:
        raise MalformedEventsError(f"unsupported content type {content_type!r}")
    if not isinstance(events, list) or not events:
        raise MalformedEventsError("the body is a non-empty JSON array of events")
    check = _check_cloud_event if schema == "cloudevents" else _check_event_grid_event
    for index, event in enumerate(events):
        check(index, event)
    return schema, events


class EventGridStandIn(AiohttpServer):
    what = "Event Grid stand-in"

    def __init__(self, key: str = DEFAULT_KEY, *, host: str = "127.0.0.1", port: int = 0) -> None:
        if not key:
            raise ValueError("the Event Grid stand-in needs a key")
        self.key = key
        self.faults = Faults()
        self.received: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/api/events", self._custom_topic)
        app.router.add_post("/topics/{topic:[^/:]+}:publish", self._namespace_topic)
        app.router.add_get("/received", self._list_received)
        app.router.add_delete("/received", self._clear_received)
        app.router.add_get("/requests", self._list_requests)
        app.router.add_post("/faults", self._add_fault)
        app.router.add_get("/faults", self._list_faults)
        app.router.add_delete("/faults", self._clear_faults)
        super().__init__(app, host=host, port=port, shutdown_timeout=2.0, access_log=None)

    async def _custom_topic(self, request: web.Request) -> web.Response:
        given = request.headers.get("aeg-sas-key", "")
        return await self._publish(request, given, topic=None)

    async def _namespace_topic(self, request: web.Request) -> web.Response:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return await self._publish(
            request, given if scheme == "SharedAccessKey" else "", topic=request.match_info["topic"]
        )

    async def _publish(self, request: web.Request, given: str, topic: str | None) -> web.Response:
        body = await request.read()
        record: dict[str, Any] = {
            "request": len(self.requests) + 1,
            "received_at": datetime.now(UTC).isoformat(),
            "path": request.path,
            "topic": topic,
            "content_type": request.content_type,
            "bytes": len(body),
            "events": 0,
        }
        self.requests.append(record)
        answer = await self._answer(request, body, given, topic, record)
        record["status"] = answer.status
        log.info(
            "%s: %d bytes, %d events -> %d",
            request.path,
            len(body),
            record["events"],
            answer.status,
        )
        return answer

    async def _answer(
        self,
        request: web.Request,
        body: bytes,
        given: str,
        topic: str | None,
        record: dict[str, Any],
    ) -> web.Response:
        failure = await self.faults.before_answer(request.path)
        if failure is not None:
            return web.json_response(
                error_body("InjectedFault", "injected by the stand-in's fault controls"),
                status=failure.status,
                headers=failure.headers,
            )
        if not given or not hmac.compare_digest(given.encode(), self.key.encode()):
            return web.json_response(
                error_body("Unauthorized", "the request authorization key is not authorized"),
                status=401,
            )
        if "api-version" not in request.query:
            return web.json_response(
                error_body("BadRequest", "the api-version query parameter is required"),
                status=400,
            )
        if len(body) > MAX_REQUEST_BYTES:
            return web.json_response(
                error_body(
                    "RequestEntityTooLarge",
                    f"the maximum size ({MAX_REQUEST_BYTES}) has been exceeded",
                ),
                status=413,
            )
        try:
            schema, events = parse_events(body, request.content_type, namespace=topic is not None)
        except MalformedEventsError as exc:
            return web.json_response(error_body("BadRequest", str(exc)), status=400)
        record["events"] = len(events)
        arrived = record["received_at"]
        self.received += [
            {
                "received_at": arrived,
                "request": record["request"],
                "topic": topic,
                "schema": schema,
                "event": event,
            }
            for event in events
        ]
        if topic is not None:
            return web.json_response({})
        return web.Response(status=200)

    async def _list_received(self, request: web.Request) -> web.Response:
        return web.json_response(self.received)

    async def _clear_received(self, request: web.Request) -> web.Response:
        self.received.clear()
        self.requests.clear()
        return web.Response(status=204)

    async def _list_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.requests)

    async def _add_fault(self, request: web.Request) -> web.Response:
        return await add_fault(self.faults, request)

    async def _list_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.faults.as_json())

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.Response(status=204)


async def add_fault(faults: Faults, request: web.Request) -> web.Response:
    """``POST /faults``: 400 naming the field of a rule that cannot be applied."""
    try:
        rule = faults.add(await request.json())
    except (FaultRuleError, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(rule.as_json(), status=201)


async def serve_until_signalled(server: AiohttpServer, banner: str) -> None:
    """Runs ``server`` until SIGINT or SIGTERM, as the other local servers do."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        log.info("%s on %s", banner, server.base_url)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.event_grid", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the topic's access key")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    try:
        server = EventGridStandIn(args.key, host=args.host, port=args.port)
    except ValueError as exc:
        log.critical("cannot start: %s", exc)
        return 2
    asyncio.run(serve_until_signalled(server, "Event Grid stand-in"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
