"""GET /api/messages and GET /api/calls against Azurite: filters, order, paging, inbound."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import azure.functions as func
import pytest

from shared.delivery import status_checks
from shared.domain.records import LogRecord
from shared.domain.transitions import inbound_record
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.app import user_function
from tests.support.fake_twilio import reply
from tests.support.requests import api_post, signed_form, trigger_message
from tests.support.spies import first_arguments

pytestmark = pytest.mark.integration

CALLER = "+15557654321"
OTHER = "+15557650000"
OUR_NUMBER = "+15005550006"


async def listing(kind: str, **query: str) -> tuple[int, Any]:
    collection = "messages" if kind == "sms" else "calls"
    request = func.HttpRequest(
        "GET", f"{PUBLIC_BASE_URL}/api/{collection}?{urlencode(query)}", params=query, body=b""
    )
    name = "list_messages" if kind == "sms" else "list_calls"
    response: func.HttpResponse = await user_function(name)(request)
    return response.status_code, json.loads(response.get_body())


async def all_pages(kind: str, **query: str) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        status, body = await listing(kind, **query)
        assert status == 200, body
        items += body["items"]
        pages += 1
        if body["next"] is None:
            return items, pages
        query = dict(parse_qsl(urlsplit(body["next"]).query))


async def send(body: str, to: str = CALLER) -> str:
    response = await user_function("send_message")(api_post("messages", {"to": to, "body": body}))
    return str(json.loads(response.get_body())["id"])


async def backdated(gateway: Gateway, record_id: str, at: datetime, kind: str = "sms") -> None:
    record = LogRecord(
        id=record_id, kind=kind, status="delivered", status_rank=100, to=CALLER,
        from_=OUR_NUMBER, created_at=at, updated_at=at,
    )  # fmt: skip
    created = await gateway.services.log.create(record, _event(at))
    await gateway.services.index.add(created)


def _event(at: datetime) -> Any:
    from shared.domain.records import LogEvent

    return LogEvent("delivered", "twilio", at=at)


def inbound_sms(sid: str, body: str, *media: str) -> func.HttpRequest:
    params = {"MessageSid": sid, "From": CALLER, "To": OUR_NUMBER, "Body": body}
    params["NumMedia"] = str(len(media))
    params.update({f"MediaUrl{i}": url for i, url in enumerate(media)})
    return signed_form(f"{PUBLIC_BASE_URL}/api/twilio/sms", params, AUTH_TOKEN)


async def test_messages_are_listed_newest_first_with_their_content(gateway: Gateway) -> None:
    first, second = await send("first"), await send("second")

    status, body = await listing("sms")

    assert status == 200
    assert [item["id"] for item in body["items"]] == [second, first]
    assert body["items"][0]["body"] == "second" and body["items"][0]["status"] == "accepted"
    assert body["continuation"] is None and body["next"] is None


async def test_calls_and_messages_are_listed_apart(gateway: Gateway) -> None:
    await send("a text")
    await user_function("place_call")(api_post("calls", {"to": CALLER, "say": "Hi"}))

    _, calls = await listing("call")
    _, messages = await listing("sms")

    assert [item["kind"] for item in calls["items"]] == ["call"]
    assert calls["items"][0]["say"] == "Hi"
    assert [item["kind"] for item in messages["items"]] == ["sms"]


async def test_inbound_sms_is_listed_with_body_and_media(gateway: Gateway) -> None:
    await send("outbound one")
    sid = "MM" + "1" * 32
    await user_function("twilio_sms")(inbound_sms(sid, "look", "https://api.twilio.com/m/ME1"))

    _, body = await listing("sms", direction="inbound")

    (item,) = body["items"]
    assert (item["id"], item["direction"], item["status"]) == (sid, "inbound", "received")
    assert (item["body"], item["media_urls"]) == ("look", ["https://api.twilio.com/m/ME1"])
    assert (item["from"], item["to"]) == (CALLER, OUR_NUMBER)


async def test_without_logged_bodies_only_the_length_is_listed(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_MESSAGE_BODIES", "false")
    await gateway.reload()
    await user_function("twilio_sms")(inbound_sms("SM" + "2" * 32, "secret"))

    _, body = await listing("sms")

    (item,) = body["items"]
    assert "body" not in item and item["body_length"] == 6


async def test_number_filter_matches_either_side(gateway: Gateway) -> None:
    to_other = await send("to other", to=OTHER)
    await send("to caller")
    await user_function("twilio_sms")(inbound_sms("SM" + "3" * 32, "from caller"))

    _, other = await listing("sms", number=OTHER)
    _, caller = await listing("sms", number=" " + CALLER[1:])  # an unencoded '+'

    assert [item["id"] for item in other["items"]] == [to_other]
    assert len(caller["items"]) == 2


async def test_status_filter_reads_the_current_status(gateway: Gateway) -> None:
    queued = await send("will be queued")
    await send("stays accepted")
    await gateway.queued_messages()  # drop both from the queue, send only the first:
    await gateway.services.log.update(queued, _to_queued)

    _, body = await listing("sms", status="queued")

    assert [item["id"] for item in body["items"]] == [queued]


def _to_queued(record: LogRecord) -> Any:
    from shared.domain.transitions import twilio_status

    return twilio_status("queued", sid="SM" + "9" * 32)(record)


async def test_paging_returns_every_record_once_in_order(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    ids = [f"page-{n}" for n in range(7)]
    for n, record_id in enumerate(ids):
        await backdated(gateway, record_id, now - timedelta(hours=13 * n))

    items, pages = await all_pages("sms", limit="3")

    assert [item["id"] for item in items] == ids
    assert pages >= 3


async def test_time_range_bounds_the_list(gateway: Gateway) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    for days in (1, 3, 5):
        await backdated(gateway, f"aged-{days}", now - timedelta(days=days))
    since = (now - timedelta(days=4)).isoformat()
    until = (now - timedelta(days=2)).isoformat()

    items, _ = await all_pages("sms", since=since, until=until)

    assert [item["id"] for item in items] == ["aged-3"]


async def test_default_window_is_the_last_30_days(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    await backdated(gateway, "recent", now - timedelta(days=29))
    await backdated(gateway, "old", now - timedelta(days=31))

    items, _ = await all_pages("sms")

    assert [item["id"] for item in items] == ["recent"]


async def test_a_list_reads_only_the_days_in_range_never_the_whole_log(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await send("one")
    filters = first_arguments(gateway.services.index._table, "query_entities", monkeypatch)
    log_queries = first_arguments(gateway.services.log._table, "query_entities", monkeypatch)
    since = (datetime.now(UTC) - timedelta(days=2)).isoformat()

    status, _ = await listing("sms", since=since)

    assert status == 200 and log_queries == ["PartitionKey eq @pk"]
    assert 1 <= len(filters) <= 3
    assert all(f.startswith("PartitionKey eq @pk") for f in filters)


async def test_inbound_call_reaches_completed_through_the_numbers_status_callback(
    gateway: Gateway,
) -> None:
    sid = "CA" + "5" * 32
    params = {"CallSid": sid, "From": CALLER, "To": OUR_NUMBER, "CallStatus": "ringing"}
    await user_function("twilio_voice")(
        signed_form(f"{PUBLIC_BASE_URL}/api/twilio/voice", params, AUTH_TOKEN)
    )
    done = {**params, "CallStatus": "completed", "CallDuration": "12", "Direction": "inbound"}

    response = await user_function("twilio_status")(
        signed_form(f"{PUBLIC_BASE_URL}/api/twilio/status", done, AUTH_TOKEN)
    )

    assert response.status_code == 200
    _, body = await listing("call", direction="inbound", status="completed")
    assert [item["id"] for item in body["items"]] == [sid]


async def test_callback_without_id_never_moves_an_outbound_record(gateway: Gateway) -> None:
    record, event = inbound_record("CA" + "4" * 32, "call", "ringing", CALLER, OTHER, None, True)
    outbound = LogRecord(**{**vars(record), "direction": "outbound", "etag": None})
    await gateway.services.log.create(outbound, event)
    done = {"CallSid": record.id, "CallStatus": "completed"}

    await user_function("twilio_status")(
        signed_form(f"{PUBLIC_BASE_URL}/api/twilio/status", done, AUTH_TOKEN)
    )

    stored = await gateway.services.log.get(record.id)
    assert stored is not None and stored.status == "ringing"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"direction": "sideways"}, "direction"),
        ({"status": "teleported"}, "status"),
        ({"number": "555"}, "number"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-11-26T10:00:00"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"continuation": "not-a-token"}, "continuation"),
        ({"colour": "red"}, "colour"),
        ({"since": "2026-11-26T10:00:00Z", "until": "2026-11-25T10:00:00Z"}, "since"),
    ],
)
async def test_bad_list_parameters_get_400_naming_them(
    gateway: Gateway, query: dict[str, str], field: str
) -> None:
    status, body = await listing("sms", **query)

    assert status == 400 and body["error"]["field"] == field


async def test_inbound_call_without_a_status_callback_is_finished_by_a_status_check(
    gateway: Gateway,
) -> None:
    sid = "CA" + "3" * 32
    params = {"CallSid": sid, "From": CALLER, "To": OUR_NUMBER, "CallStatus": "ringing"}
    voice = signed_form(f"{PUBLIC_BASE_URL}/api/twilio/voice", params, AUTH_TOKEN)
    await user_function("twilio_voice")(voice)
    await user_function("twilio_voice")(voice)  # a menu's redirect posts the call again
    properties = await gateway.queue.get_queue_properties()
    assert properties.approximate_message_count == 1
    gateway.twilio.script(reply(200, {"sid": sid, "status": "completed"}))
    check = {"kind": status_checks.CHECK_KIND, "id": sid, "attempt": 1}

    await user_function("outbound_worker")(trigger_message("c", json.dumps(check).encode()))

    record = await gateway.services.log.get(sid)
    assert record is not None and record.status == "completed"
    assert gateway.twilio.requests[-1].path.endswith(f"/Calls/{sid}.json")


@pytest.mark.parametrize(
    "query",
    [
        {"since": "0001-01-01T00:00:00+01:00"},
        {"since": "0001-01-01T00:00:00Z", "until": "0001-01-02T00:00:00Z"},
        {"until": "9999-12-31T23:59:59-01:00"},
        {"limit": "9" * 5000},
    ],
)
async def test_times_and_limits_at_the_ends_of_their_range_never_fail_the_list(
    gateway: Gateway, query: dict[str, str]
) -> None:
    status, body = await listing("sms", **query)

    assert status in (200, 400), body
