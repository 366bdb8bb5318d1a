"""The Event Grid stand-in over raw HTTP: what it accepts, what it refuses, its faults."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from localdev.event_grid import CLOUDEVENT, CLOUDEVENTS_BATCH, MAX_REQUEST_BYTES
from tests.support.event_destinations import EventGridStandInProcess

API = "?api-version=2018-01-01"
CLOUD_EVENT = {"specversion": "1.0", "id": "e1", "source": "/gw", "type": "t", "data": {}}
GRID_EVENT = {
    "id": "g1",
    "subject": "msg-1",
    "eventType": "t",
    "eventTime": "2026-12-02T01:00:00Z",
    "dataVersion": "1",
    "data": {},
}


@pytest.fixture
async def http(event_grid: EventGridStandInProcess) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=event_grid.base_url) as session:
        yield session


async def post(
    http: aiohttp.ClientSession,
    body: Any,
    content_type: str = CLOUDEVENTS_BATCH,
    key: str | None = "test-event-grid-key",
    path: str = "/api/events" + API,
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["aeg-sas-key"] = key
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with http.post(path, data=io.BytesIO(data), headers=headers) as answer:
        text = await answer.text()
        return answer.status, json.loads(text) if text else None


async def test_a_cloudevents_batch_is_accepted_and_listed_with_its_arrival(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    assert (await post(http, [CLOUD_EVENT]))[0] == 200

    [entry] = event_grid.received()
    assert entry["event"] == CLOUD_EVENT
    assert entry["schema"] == "cloudevents"
    assert entry["received_at"].endswith("+00:00")


async def test_a_single_cloudevent_is_accepted(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    assert (await post(http, CLOUD_EVENT, CLOUDEVENT))[0] == 200
    assert event_grid.events() == [CLOUD_EVENT]


async def test_an_event_grid_schema_array_is_accepted(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    assert (await post(http, [GRID_EVENT], "application/json"))[0] == 200
    assert event_grid.received()[0]["schema"] == "eventgrid"


@pytest.mark.parametrize("key", [None, "wrong"])
async def test_a_missing_or_wrong_key_is_401(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession, key: str | None
) -> None:
    status, body = await post(http, [CLOUD_EVENT], key=key)

    assert (status, body["error"]["code"]) == (401, "Unauthorized")
    assert event_grid.received() == []


@pytest.mark.parametrize(
    ("events", "says"),
    [
        ([{**CLOUD_EVENT, "id": ""}], "id is missing"),
        ([{**CLOUD_EVENT, "specversion": "0.3"}], "specversion"),
        ([{k: v for k, v in CLOUD_EVENT.items() if k != "source"}], "source is missing"),
        ([], "non-empty JSON array"),
        ({"not": "an array"}, "non-empty JSON array"),
        (b"{not json", "not JSON"),
    ],
)
async def test_a_malformed_event_is_400_with_event_grids_error_body(
    http: aiohttp.ClientSession, events: Any, says: str
) -> None:
    status, body = await post(http, events)

    assert status == 400
    assert body["error"]["code"] == "BadRequest" and says in body["error"]["message"]


async def test_an_event_grid_event_without_data_is_400(http: aiohttp.ClientSession) -> None:
    grid = {k: v for k, v in GRID_EVENT.items() if k != "data"}

    assert (await post(http, [grid], "application/json"))[0] == 400


async def test_over_one_megabyte_is_413_and_recorded_as_refused(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    big = [{**CLOUD_EVENT, "data": {"x": "y" * MAX_REQUEST_BYTES}}]

    status, body = await post(http, big)

    assert (status, body["error"]["code"]) == (413, "RequestEntityTooLarge")
    assert event_grid.requests()[0]["status"] == 413
    assert event_grid.received() == []


async def test_without_an_api_version_is_400(http: aiohttp.ClientSession) -> None:
    assert (await post(http, [CLOUD_EVENT], path="/api/events"))[0] == 400


async def test_a_namespace_topic_takes_its_key_as_a_shared_access_key(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    path = "/topics/orders:publish" + API
    headers = {
        "Content-Type": CLOUDEVENTS_BATCH,
        "Authorization": "SharedAccessKey " + event_grid.key,
    }
    async with http.post(path, data=json.dumps([CLOUD_EVENT]), headers=headers) as answer:
        assert (answer.status, await answer.json()) == (200, {})

    assert event_grid.received()[0]["topic"] == "orders"


async def test_a_namespace_topic_refuses_the_custom_topics_header(
    http: aiohttp.ClientSession,
) -> None:
    status, _ = await post(http, [CLOUD_EVENT], path="/topics/orders:publish" + API)

    assert status == 401


async def test_an_outage_answers_its_status_until_cleared(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    event_grid.fault(status=503, seconds=600)
    assert (await post(http, [CLOUD_EVENT]))[0] == 503

    event_grid.clear_faults()
    assert (await post(http, [CLOUD_EVENT]))[0] == 200


async def test_an_outage_ends_by_itself(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    event_grid.fault(status=503, seconds=0.2)
    assert (await post(http, [CLOUD_EVENT]))[0] == 503
    await asyncio.sleep(0.3)

    assert (await post(http, [CLOUD_EVENT]))[0] == 200


async def test_a_fail_ratio_fails_about_that_share(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    event_grid.fault(fail_ratio=0.5, seed=7)

    statuses = [(await post(http, [CLOUD_EVENT]))[0] for _ in range(200)]

    assert set(statuses) == {200, 503}
    assert 60 <= statuses.count(503) <= 140
    assert len(event_grid.received()) == statuses.count(200)


async def test_a_delay_holds_every_answer(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    event_grid.fault(delay_seconds=2)

    with pytest.raises(TimeoutError):
        async with http.post(
            "/api/events" + API,
            data=json.dumps([CLOUD_EVENT]),
            headers={"aeg-sas-key": event_grid.key, "Content-Type": CLOUDEVENTS_BATCH},
            timeout=aiohttp.ClientTimeout(total=0.5),
        ):
            pass


async def test_delete_received_forgets_events_and_requests(
    event_grid: EventGridStandInProcess, http: aiohttp.ClientSession
) -> None:
    await post(http, [CLOUD_EVENT])

    event_grid.clear()

    assert event_grid.received() == [] and event_grid.requests() == []


@pytest.mark.parametrize(
    "rule",
    [{}, {"status": 99}, {"fail_ratio": 2}, {"seconds": 5}, {"colour": "red"}, {"path": "x"}],
)
async def test_a_fault_rule_that_cannot_apply_is_400_naming_why(
    http: aiohttp.ClientSession, rule: dict[str, Any]
) -> None:
    async with http.post("/faults", json=rule) as answer:
        assert answer.status == 400
        assert (await answer.json())["error"]
