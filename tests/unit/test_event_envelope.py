"""Event Grid and CloudEvents envelopes: the request inside, the event id as default id."""

from __future__ import annotations

import base64
import json

import pytest

from shared.domain.event_envelope import event_default_id, unwrap
from shared.domain.outbound import ID_PATTERN, parse_request
from shared.platform.errors import InvalidRequestError

REQUEST = {"kind": "sms", "to": "+15551234567", "body": "Backup finished"}


EVENT_ID = "d5f0c7a2-1b2c-4e5f-9a8b-7c6d5e4f3a2b"


def event_grid(data: object, event_id: str = EVENT_ID) -> dict[str, object]:
    return {
        "id": event_id,
        "topic": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
        "subject": "backups/nightly",
        "eventType": "Contoso.Backup.Finished",
        "eventTime": "2026-11-26T20:00:00Z",
        "data": data,
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def cloud_event(data: object, event_id: str = "A234-1234-1234") -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/contoso/backups",
        "type": "Contoso.Backup.Finished",
        "time": "2026-11-26T20:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    }


@pytest.mark.parametrize("envelope", [event_grid(REQUEST), cloud_event(REQUEST)])
def test_envelope_yields_the_request_inside(envelope: dict[str, object]) -> None:
    document, _ = unwrap(envelope)

    assert document == REQUEST


def test_event_grid_event_id_becomes_the_default_id() -> None:
    document, default_id = unwrap(event_grid(REQUEST))

    request = parse_request(document, default_id=default_id)

    assert request.id == "d5f0c7a2-1b2c-4e5f-9a8b-7c6d5e4f3a2b"


def test_an_id_inside_the_data_wins_over_the_event_id() -> None:
    document, default_id = unwrap(cloud_event({**REQUEST, "id": "mine"}))

    assert parse_request(document, default_id=default_id).id == "mine"


def test_cloud_event_with_data_base64_is_decoded() -> None:
    envelope = cloud_event(None)
    del envelope["data"]
    envelope["data_base64"] = base64.b64encode(json.dumps(REQUEST).encode()).decode()

    assert unwrap(envelope)[0] == REQUEST


def test_data_given_as_json_text_is_parsed() -> None:
    assert unwrap(event_grid(json.dumps(REQUEST)))[0] == REQUEST


def test_plain_request_passes_through_without_default_id() -> None:
    assert unwrap(REQUEST) == (REQUEST, None)


@pytest.mark.parametrize("data", [None, 5, ["x"], "not json"])
def test_envelope_without_a_request_object_is_refused_naming_data(data: object) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        unwrap(event_grid(data))

    assert caught.value.code == "invalid_event_data" and caught.value.field == "data"


def test_event_id_outside_the_id_rule_is_hashed_to_a_stable_valid_id() -> None:
    odd = "/subscriptions/x/events/1 2 3"

    first, second = event_default_id(odd), event_default_id(odd)

    assert first == second and first is not None and ID_PATTERN.match(first)
    assert event_default_id("/subscriptions/x/events/1 2 4") != first


@pytest.mark.parametrize(
    "data", ["[" * 5000, '{"tag": ' + "9" * 5000 + "}"], ids=["deep_nesting", "long_integer"]
)
def test_hostile_data_text_is_refused_naming_data(data: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        unwrap(event_grid(data))

    assert caught.value.code == "invalid_event_data" and caught.value.field == "data"


@pytest.mark.parametrize(
    "encoded",
    ["\u00e9QUJD", 5, "!!!!", base64.b64encode(b"[" * 5000).decode()],
    ids=["non_ascii", "number", "not_base64", "deep_nesting"],
)
def test_unusable_data_base64_is_refused_naming_it(encoded: object) -> None:
    envelope = cloud_event(REQUEST)
    del envelope["data"]
    envelope["data_base64"] = encoded

    with pytest.raises(InvalidRequestError) as caught:
        unwrap(envelope)

    assert caught.value.code == "invalid_event_data" and caught.value.field == "data_base64"


def test_event_id_with_a_lone_surrogate_is_refused_naming_id() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        unwrap(cloud_event(REQUEST, event_id="evt\ud800"))

    assert caught.value.code == "invalid_event_id" and caught.value.field == "id"
