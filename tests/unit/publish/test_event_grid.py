"""Batching within Event Grid's 1 MB, and what the publisher accepts at construction."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from shared.publish.event_grid import (
    MAX_REQUEST_BYTES,
    EventGridPublisher,
    event_bytes,
    request_bytes,
    topic_endpoint,
)
from shared.publish.outcome import Refused

ENDPOINT = "https://topic.westeurope-1.eventgrid.azure.net/api/events"


def event(number: int, data_bytes: int = 100) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"evt-{number}",
        "source": "https://gw.example.com",
        "type": "com.example.sms.delivered",
        "subject": f"msg-{number}",
        "time": "2026-12-02T01:00:00Z",
        "data": {"message": "x" * data_bytes},
    }


class FakeCredential:
    """Stands for an ``azure.identity.aio`` credential: never asked for a token here."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise AssertionError("no token is needed to construct a publisher")

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        return None


@pytest.fixture
async def publisher() -> Any:
    made = EventGridPublisher(ENDPOINT, key="k")
    yield made
    await made.close()


def test_small_events_go_in_one_batch(publisher: EventGridPublisher) -> None:
    events = [event(n) for n in range(50)]

    assert publisher.batches(events) == [events]


def test_batches_keep_the_order_and_every_event(publisher: EventGridPublisher) -> None:
    events = [event(n, 100_000) for n in range(25)]

    batches = publisher.batches(events)

    assert len(batches) > 1
    assert [e for batch in batches for e in batch] == events


def test_each_batch_is_within_one_megabyte_as_the_sdk_writes_it(
    publisher: EventGridPublisher,
) -> None:
    events = [event(n, 90_000 + n * 997) for n in range(30)]

    for batch in publisher.batches(events):
        assert len(json.dumps(batch).encode()) <= MAX_REQUEST_BYTES


def test_non_ascii_data_is_counted_as_the_sdk_escapes_it(publisher: EventGridPublisher) -> None:
    events = [{**event(n), "data": {"message": "é" * 60_000}} for n in range(30)]

    for batch in publisher.batches(events):
        assert len(json.dumps(batch).encode()) <= MAX_REQUEST_BYTES


def test_an_event_over_the_limit_is_a_batch_of_its_own(publisher: EventGridPublisher) -> None:
    huge = event(2, MAX_REQUEST_BYTES)
    events = [event(1), huge, event(3)]

    assert publisher.batches(events) == [[event(1)], [huge], [event(3)]]


async def test_publishing_an_event_over_the_limit_is_refused(
    publisher: EventGridPublisher,
) -> None:
    outcome = await publisher.publish([event(1, MAX_REQUEST_BYTES)])

    assert isinstance(outcome, Refused)
    assert "1 MB" in outcome.reason


async def test_publishing_nothing_is_an_error(publisher: EventGridPublisher) -> None:
    with pytest.raises(ValueError, match="empty batch"):
        await publisher.publish([])


def test_request_bytes_counts_brackets_and_separators() -> None:
    events = [event(1), event(2)]

    assert request_bytes([event_bytes(e) for e in events]) >= len(json.dumps(events))


@pytest.mark.parametrize(
    ("endpoint", "namespace", "expected"),
    [
        (ENDPOINT, None, ENDPOINT),
        ("https://topic.westeurope-1.eventgrid.azure.net", None, ENDPOINT),
        ("https://topic.westeurope-1.eventgrid.azure.net/", None, ENDPOINT),
        (
            "https://ns.westeurope-1.eventgrid.azure.net/",
            "orders",
            "https://ns.westeurope-1.eventgrid.azure.net",
        ),
    ],
)
def test_the_endpoint_is_completed_as_the_portal_shows_it(
    endpoint: str, namespace: str | None, expected: str
) -> None:
    assert topic_endpoint(endpoint, namespace) == expected


def test_an_endpoint_that_is_not_a_url_is_an_error() -> None:
    with pytest.raises(ValueError, match="endpoint is a URL"):
        EventGridPublisher("topic.eventgrid.azure.net", key="k")


@pytest.mark.parametrize("given", [{}, {"key": "k", "credential": FakeCredential()}])
def test_a_key_or_a_credential_exactly_one(given: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="one"):
        EventGridPublisher(ENDPOINT, **given)


async def test_a_token_credential_is_accepted_for_an_https_endpoint() -> None:
    made = EventGridPublisher(ENDPOINT, credential=FakeCredential())
    await made.close()


def test_a_token_credential_over_plain_http_is_an_error() -> None:
    with pytest.raises(ValueError, match="https only"):
        EventGridPublisher(
            "http://127.0.0.1:4020/api/events",
            credential=FakeCredential(),
        )
