"""Hostile and careless input through the whole stack: the API over HTTP, the queue over
Azurite. Every refusal is a 4xx (or a ``rejected`` record) naming its rule and field, nothing
reaches the Twilio simulator, and a rejected queue message is not retried and is readable."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from localdev.azurite import Azurite
from localdev.stack import Stack
from tests.e2e.conftest import FUNCTION_KEY, PATIENCE_SECONDS, POLL_SECONDS, RunningStack

pytestmark = pytest.mark.e2e

ARABIC_FIVE = "\u0665"
# Longer than MAX_URL (2048), far below the 64 KiB request limit.
LONG_URL = "https://media.example/" + "a" * 3000


def number() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


@dataclass(frozen=True)
class ApiCase:
    route: str
    body: str
    status: int
    code: str
    field: str | None
    content_type: str = "application/json"


def sms(to: str, **fields: Any) -> str:
    return json.dumps({"to": to, "body": "hi", **fields})


def call(to: str, **fields: Any) -> str:
    return json.dumps({"to": to, **fields})


def api_cases(to: str) -> dict[str, ApiCase]:
    """Raw JSON text: json.dumps writes a lone surrogate as the escape ``\\ud800``."""
    return {
        "deep_nesting": ApiCase("messages", "[" * 5000, 400, "invalid_json", None),
        "integer_over_4300_digits": ApiCase(
            "messages",
            f'{{"to": "{to}", "body": "x", "tag": {"9" * 5000}}}',
            400,
            "invalid_json",
            None,
        ),
        "lone_surrogate_in_body": ApiCase(
            "messages", sms(to, body="a\ud800b"), 400, "invalid_body", "body"
        ),
        "lone_surrogate_in_tag": ApiCase(
            "messages", sms(to, tag="a\ud800b"), 400, "invalid_tag", "tag"
        ),
        "lone_surrogate_in_say": ApiCase(
            "calls", call(to, say="a\ud800b"), 400, "invalid_say", "say"
        ),
        "lone_surrogate_as_field_name": ApiCase(
            "messages", sms(to, **{"\ud800": 1}), 400, "unknown_field", "'\\ud800'"
        ),
        "to_with_trailing_newline": ApiCase("messages", sms(to + "\n"), 400, "invalid_to", "to"),
        "id_with_trailing_newline": ApiCase(
            "messages", sms(to, id="abc\n"), 400, "invalid_id", "id"
        ),
        "from_with_trailing_newline": ApiCase(
            "calls", call(to, say="hi", **{"from": "+15005550006\n"}), 400, "invalid_from", "from"
        ),
        "url_with_trailing_newline": ApiCase(
            "calls", call(to, url="https://gw.example/twiml\n"), 400, "invalid_url", "url"
        ),
        "non_ascii_digits_in_to": ApiCase(
            "messages", sms("+1" + ARABIC_FIVE * 3 + to[5:]), 400, "invalid_to", "to"
        ),
        "media_url_over_2048_characters": ApiCase(
            "messages", sms(to, media_urls=[LONG_URL]), 400, "media_url_too_long", "media_urls"
        ),
        "call_url_over_2048_characters": ApiCase(
            "calls", call(to, url=LONG_URL), 400, "url_too_long", "url"
        ),
        "not_json_content_type": ApiCase(
            "messages", sms(to), 415, "unsupported_media_type", "Content-Type", "text/plain"
        ),
    }


def mentions(requests: list[dict[str, Any]], to: str) -> bool:
    """Whether any request to the simulator carried the number's last seven digits."""
    return to[-7:] in json.dumps(requests)


async def simulator_saw(stack: RunningStack, to: str) -> bool:
    return mentions((await stack.sim("GET", "/_sim/requests"))["requests"], to)


@pytest.mark.parametrize("name", list(api_cases("+15550000000")))
async def test_bad_api_request_is_refused_naming_its_rule(stack: RunningStack, name: str) -> None:
    to = number()
    case = api_cases(to)[name]

    status, body = await stack.api(
        "POST",
        f"/api/{case.route}",
        data=case.body.encode(),
        headers={"Content-Type": case.content_type},
    )

    assert status == case.status, body
    assert body["error"]["code"] == case.code
    assert body["error"].get("field") == case.field
    assert not await simulator_saw(stack, to)


def token_of(document: object) -> str:
    raw = json.dumps(document).encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def continuation_cases() -> dict[str, str]:
    today = datetime.now(UTC).date().isoformat()
    return {
        "deep_nesting": base64.urlsafe_b64encode(b"[" * 1500).decode(),
        "lone_surrogate_in_row": token_of({"d": today, "r": "\ud800"}),
        "far_future_day": token_of({"d": "2999-12-31", "r": None}),
        "day_before_since": token_of({"d": "2000-01-01", "r": None}),
        "row_of_another_shape": token_of({"d": today, "r": "0-x"}),
        "not_base64url": "%%%",
    }


@pytest.mark.parametrize("name", list(continuation_cases()))
async def test_hostile_continuation_token_is_a_named_400(stack: RunningStack, name: str) -> None:
    token = continuation_cases()[name]

    status, body = await stack.api("GET", "/api/messages", params={"continuation": token})

    assert status == 400, body
    assert (body["error"]["code"], body["error"]["field"]) == (
        "invalid_continuation",
        "continuation",
    )


async def test_continuation_of_a_real_page_is_taken(stack: RunningStack) -> None:
    to = number()
    for _ in range(2):
        await stack.send_sms(to)

    _, first = await stack.api("GET", "/api/messages", params={"number": to, "limit": "1"})
    status, second = await stack.api("GET", first["next"])

    assert status == 200, second
    assert len(second["items"]) == 1 and second["items"][0]["id"] != first["items"][0]["id"]
    assert "since=" in first["next"] and "until=" in first["next"]


async def test_largest_valid_request_is_accepted_not_refused_by_storage(
    stack: RunningStack,
) -> None:
    urls = [f"https://media.example/{index}/" + "a" * 2020 for index in range(10)]
    status, body = await stack.api(
        "POST",
        "/api/messages",
        json={"to": number(), "body": "\u00e9" * 1600, "media_urls": urls, "tag": "t" * 256},
    )

    assert status == 202, body


@dataclass(frozen=True)
class QueueCase:
    text: str
    code: str
    kind: str
    record_id: str | None = None


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def event_grid(data: object, event_id: str) -> dict[str, object]:
    return {
        "id": event_id,
        "subject": "orders/1",
        "eventType": "Contoso.Order.Shipped",
        "eventTime": "2026-11-26T20:00:00Z",
        "dataVersion": "1.0",
        "data": data,
    }


def cloud_event_base64(data_base64: str, event_id: str) -> dict[str, object]:
    return {"specversion": "1.0", "id": event_id, "source": "/s", "type": "t",
            "data_base64": data_base64}  # fmt: skip


def queue_cases(to: str) -> dict[str, QueueCase]:
    """``record_id`` None: the record is kept under the queue message id."""
    document = {"kind": "sms", "to": to, "body": "hi"}
    return {
        "not_json": QueueCase("not json at all", "undecodable_message", "unknown"),
        "bad_base64": QueueCase("!!!!", "undecodable_message", "unknown"),
        "json_array": QueueCase("[1, 2]", "undecodable_message", "unknown"),
        "base64_of_a_json_array": QueueCase(b64("[1, 2]"), "invalid_request", "unknown"),
        "base64_of_a_json_string": QueueCase(b64('"hello"'), "invalid_request", "unknown"),
        "missing_kind": QueueCase(json.dumps({"to": to, "body": "hi"}), "missing_kind", "unknown"),
        "unknown_kind": QueueCase(
            json.dumps({**document, "kind": "fax"}), "invalid_kind", "unknown"
        ),
        "deep_nesting": QueueCase('{"a": ' + "[" * 5000, "undecodable_message", "unknown"),
        "integer_over_4300_digits": QueueCase(
            f'{{"kind": "sms", "to": "{to}", "body": "x", "tag": {"9" * 5000}}}',
            "undecodable_message",
            "unknown",
        ),
        "lone_surrogate_in_body": QueueCase(
            json.dumps({**document, "body": "a\ud800b"}), "invalid_body", "sms"
        ),
        "to_with_trailing_newline": QueueCase(
            json.dumps({**document, "to": to + "\n"}), "invalid_to", "sms"
        ),
        "non_ascii_digits_in_to": QueueCase(
            json.dumps({**document, "to": "+1" + ARABIC_FIVE * 3 + to[5:]}), "invalid_to", "sms"
        ),
        "id_with_trailing_newline": QueueCase(
            json.dumps({**document, "id": "abc\n"}), "invalid_id", "sms"
        ),
        "media_url_over_2048_characters": QueueCase(
            json.dumps({**document, "media_urls": [LONG_URL]}), "media_url_too_long", "sms"
        ),
        "call_url_over_2048_characters": QueueCase(
            json.dumps({"kind": "call", "to": to, "url": LONG_URL}), "url_too_long", "call"
        ),
        "event_data_nested_too_deeply": QueueCase(
            json.dumps(event_grid("[" * 5000, f"evt-deep-{to[2:]}")),
            "invalid_event_data",
            "unknown",
            record_id="own",
        ),
        "event_data_with_an_integer_over_4300_digits": QueueCase(
            json.dumps(event_grid('{"tag": ' + "9" * 5000 + "}", f"evt-long-{to[2:]}")),
            "invalid_event_data",
            "unknown",
            record_id="own",
        ),
        "event_data_base64_not_ascii": QueueCase(
            json.dumps(cloud_event_base64("\u00e9QUJD", f"evt-b64-{to[2:]}")),
            "invalid_event_data",
            "unknown",
            record_id="own",
        ),
        "event_id_with_a_lone_surrogate": QueueCase(
            json.dumps(event_grid({**document}, "evt\ud800")), "invalid_event_id", "unknown"
        ),
        "invalid_to_under_its_own_id": QueueCase(
            json.dumps({**document, "to": "555", "id": f"own-{to[2:]}"}),
            "invalid_to",
            "sms",
            record_id="own",
        ),
    }


@dataclass
class Rejection:
    record_id: str
    by_route: dict[str, tuple[int, Any]]
    poisoned: bool
    reached_twilio: bool


async def _read(http: aiohttp.ClientSession, base_url: str, path: str) -> tuple[int, Any]:
    async with http.get(f"{base_url}{path}", headers={"x-functions-key": FUNCTION_KEY}) as answer:
        return answer.status, await answer.json(content_type=None)


async def _await_rejection(
    http: aiohttp.ClientSession, base_url: str, record_id: str
) -> dict[str, tuple[int, Any]]:
    for _ in range(int(PATIENCE_SECONDS / POLL_SECONDS)):
        answers = {
            route: await _read(http, base_url, f"/api/{route}/{record_id}")
            for route in ("messages", "calls")
        }
        if any(status == 200 for status, _ in answers.values()):
            return answers
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"{record_id} was never recorded")


async def _poisoned(storage: str) -> list[str]:
    async with QueueClient.from_connection_string(storage, "outbound-poison") as poison:
        try:
            return [message.content for message in await poison.peek_messages(32)]
        except ResourceNotFoundError:
            return []


@pytest.fixture(scope="module")
async def rejections(
    stack_processes: tuple[Stack, int], azurite: Azurite
) -> AsyncIterator[dict[str, Rejection]]:
    """Puts every bad message on the queue at once, waits until each is recorded, then
    long enough for a retry (visibility timeout 1 s) to have shown up."""
    processes, sim_port = stack_processes
    numbers = {name: number() for name in queue_cases("+15550000000")}
    ids: dict[str, str] = {}
    async with QueueClient.from_connection_string(azurite.connection_string, "outbound") as queue:
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        for name, to in numbers.items():
            case = queue_cases(to)[name]
            sent = await queue.send_message(case.text)
            own = json.loads(case.text)["id"] if case.record_id else None
            ids[name] = own or sent.id
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        for record_id in ids.values():
            await _await_rejection(http, processes.base_url, record_id)
        await asyncio.sleep(3)
        found: dict[str, Rejection] = {}
        poisoned_texts = await _poisoned(azurite.connection_string)
        async with http.get(f"http://127.0.0.1:{sim_port}/_sim/requests") as answer:
            requests = (await answer.json())["requests"]
        for name, record_id in ids.items():
            by_route = {
                route: await _read(http, processes.base_url, f"/api/{route}/{record_id}")
                for route in ("messages", "calls")
            }
            text = queue_cases(numbers[name])[name].text
            found[name] = Rejection(
                record_id, by_route, text in poisoned_texts, mentions(requests, numbers[name])
            )
        yield found


def _readable_record(rejection: Rejection, kind: str) -> dict[str, Any]:
    routes = (
        ("messages", "calls") if kind == "unknown" else ("messages" if kind == "sms" else "calls",)
    )
    bodies = [rejection.by_route[route] for route in routes]
    assert all(status == 200 for status, _ in bodies), rejection.by_route
    record: dict[str, Any] = bodies[0][1]
    return record


@pytest.mark.parametrize("name", list(queue_cases("+15550000000")))
async def test_bad_queue_message_is_rejected_once_and_readable(
    rejections: dict[str, Rejection], name: str
) -> None:
    case = queue_cases("+15550000000")[name]
    rejection = rejections[name]

    record = _readable_record(rejection, case.kind)

    assert (record["status"], record["kind"]) == ("rejected", case.kind)
    assert record["error_message"].startswith(f"{case.code}: ")
    assert [event["status"] for event in record["history"]] == ["rejected"]
    assert not rejection.poisoned
    assert not rejection.reached_twilio


async def test_request_without_content_type_is_read_as_json(stack: RunningStack) -> None:
    async with stack.http.post(
        f"{stack.base_url}/api/messages",
        data=sms(number()).encode(),
        headers={"x-functions-key": FUNCTION_KEY},
        skip_auto_headers=["Content-Type"],
    ) as response:
        assert response.status == 202, await response.text()
