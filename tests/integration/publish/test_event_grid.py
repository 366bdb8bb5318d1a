"""The Event Grid publisher through azure-eventgrid, against the stand-in over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from localdev.ports import free_port
from shared.publish.event_grid import MAX_REQUEST_BYTES, EventGridPublisher
from shared.publish.outcome import Delivered, Gone, Refused, RetryLater
from tests.support.event_destinations import EventGridStandInProcess


def event(number: int, data_bytes: int = 50) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt-{number}",
        "source": "https://gw.example.com",
        "type": "com.example.gateway.sms.delivered",
        "subject": f"msg-{number}",
        "time": "2026-12-02T01:00:00Z",
        "sequence": "00000000000000000003",
        "datacontenttype": "application/json",
        "dataschema": "https://gw.example.com/schemas/sms.json",
        "data": {"messageId": f"msg-{number}", "message": "é" * data_bytes},
    }


def without_time(event: dict[str, Any]) -> dict[str, Any]:
    """The SDK rewrites ``time`` in its own spelling (milliseconds): the same moment."""
    return {name: value for name, value in event.items() if name != "time"}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
async def publisher(event_grid: EventGridStandInProcess) -> AsyncIterator[EventGridPublisher]:
    made = EventGridPublisher(event_grid.endpoint, key=event_grid.key, timeout_seconds=5)
    yield made
    await made.close()


async def test_events_arrive_as_sent_with_the_cloudevents_batch_schema(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    sent = [event(1), event(2)]

    outcome = await publisher.publish(sent)

    assert outcome == Delivered(200)
    received = event_grid.events()
    assert [without_time(e) for e in received] == [without_time(e) for e in sent]
    assert [moment(e["time"]) for e in received] == [moment(e["time"]) for e in sent]
    assert event_grid.requests()[0]["content_type"] == "application/cloudevents-batch+json"


async def test_a_wrong_key_is_refused_with_401(event_grid: EventGridStandInProcess) -> None:
    wrong = EventGridPublisher(event_grid.endpoint, key="not-the-key")
    try:
        outcome = await wrong.publish([event(1)])
    finally:
        await wrong.close()

    assert isinstance(outcome, Refused)
    assert "401" in outcome.reason
    assert event_grid.received() == []


async def test_a_namespace_topic_gets_the_events_with_its_own_key_header(
    event_grid: EventGridStandInProcess,
) -> None:
    namespace = EventGridPublisher(
        event_grid.base_url, key=event_grid.key, namespace_topic="gateway-events"
    )
    try:
        outcome = await namespace.publish([event(1)])
    finally:
        await namespace.close()

    assert outcome == Delivered(200)
    [entry] = event_grid.received()
    assert entry["topic"] == "gateway-events"
    assert entry["event"]["id"] == "evt-1"
    assert entry["event"]["sequence"] == "00000000000000000003"


async def test_events_over_a_megabyte_split_into_requests_within_it_and_none_is_lost(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    sent = [event(n, 40_000) for n in range(60)]  # about 14 MB as the SDK escapes "é"

    outcomes = [await publisher.publish(batch) for batch in publisher.batches(sent)]

    assert all(outcome == Delivered(200) for outcome in outcomes)
    requests = event_grid.requests()
    assert len(requests) == len(outcomes) > 1
    assert all(request["bytes"] <= MAX_REQUEST_BYTES for request in requests)
    assert [e["id"] for e in event_grid.events()] == [e["id"] for e in sent]


async def test_an_event_over_the_limit_is_refused_and_never_sent(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    outcome = await publisher.publish([event(1, MAX_REQUEST_BYTES // 6)])

    assert isinstance(outcome, Refused)
    assert event_grid.requests() == []


async def test_a_malformed_event_is_refused_with_event_grids_400(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    outcome = await publisher.publish([{**event(1), "source": ""}])

    assert isinstance(outcome, Refused)
    assert "400" in outcome.reason and "BadRequest" in outcome.reason


@pytest.mark.parametrize("status", [400, 403, 404, 413])
async def test_client_errors_are_refused(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher, status: int
) -> None:
    event_grid.fault(status=status)

    outcome = await publisher.publish([event(1)])

    assert isinstance(outcome, Refused)
    assert str(status) in outcome.reason


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttling_and_server_errors_are_retried(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher, status: int
) -> None:
    event_grid.fault(status=status)

    assert isinstance(await publisher.publish([event(1)]), RetryLater)


async def test_retry_after_in_seconds_is_honoured(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    event_grid.fault(status=429, retry_after="7")

    outcome = await publisher.publish([event(1)])

    assert isinstance(outcome, RetryLater)
    assert outcome.retry_after_seconds == 7.0


async def test_retry_after_as_an_http_date_is_honoured(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    event_grid.fault(status=503, retry_after=later)

    outcome = await publisher.publish([event(1)])

    assert isinstance(outcome, RetryLater)
    assert outcome.retry_after_seconds is not None
    assert 0 < outcome.retry_after_seconds <= 600


async def test_a_410_is_gone(
    event_grid: EventGridStandInProcess, publisher: EventGridPublisher
) -> None:
    event_grid.fault(status=410)

    assert isinstance(await publisher.publish([event(1)]), Gone)


async def test_a_410_from_a_namespace_topic_is_gone(event_grid: EventGridStandInProcess) -> None:
    event_grid.fault(status=410)
    namespace = EventGridPublisher(event_grid.base_url, key=event_grid.key, namespace_topic="t")
    try:
        outcome = await namespace.publish([event(1)])
    finally:
        await namespace.close()

    assert isinstance(outcome, Gone)


async def test_a_slow_answer_is_a_timeout_to_retry(event_grid: EventGridStandInProcess) -> None:
    event_grid.fault(delay_seconds=3)
    impatient = EventGridPublisher(event_grid.endpoint, key=event_grid.key, timeout_seconds=0.5)
    try:
        outcome = await impatient.publish([event(1)])
    finally:
        await impatient.close()

    assert isinstance(outcome, RetryLater)


async def test_nothing_listening_is_retried() -> None:
    closed = EventGridPublisher(f"http://127.0.0.1:{free_port()}/api/events", key="k")
    try:
        outcome = await closed.publish([event(1)])
    finally:
        await closed.close()

    assert isinstance(outcome, RetryLater)
    assert "could not be reached" in outcome.reason
