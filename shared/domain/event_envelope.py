"""Event Grid and CloudEvents 1.0 envelopes around a send request, as Event Grid's Storage
Queue handler delivers them.

Many Azure services only talk to a queue through Event Grid. The envelope's ``data`` is the
request; the event's ``id`` becomes the request's default id, because Event Grid redelivers an
event with the same id: a redelivered event then finds its own record and is not sent twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from shared.domain.outbound import ID_PATTERN
from shared.platform.errors import InvalidRequestError
from shared.platform.json_text import InvalidJsonError, parse_json

# Fields that only an envelope carries (a request document has none of them).
_EVENT_GRID = frozenset({"eventType", "eventTime", "dataVersion"})
_CLOUD_EVENTS = frozenset({"specversion"})
_EVENT_ID_PREFIX = "evt-"


def is_envelope(document: object) -> bool:
    return isinstance(document, dict) and bool(set(document) & (_EVENT_GRID | _CLOUD_EVENTS))


def _data(envelope: dict[str, Any]) -> Any:
    if "data_base64" in envelope and "data" not in envelope:
        encoded = envelope["data_base64"]
        if not (isinstance(encoded, str) and encoded.isascii()):
            raise InvalidRequestError(
                "invalid_event_data", "the event's data_base64 must be base64 text", "data_base64"
            )
        try:
            return parse_json(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError) as exc:
            why = exc if isinstance(exc, InvalidJsonError) else "not base64"
            raise InvalidRequestError(
                "invalid_event_data",
                f"the event's data_base64 is not base64 of JSON: {why}",
                "data_base64",
            ) from None
    data = envelope.get("data")
    if isinstance(data, str):
        try:
            return parse_json(data)
        except InvalidJsonError as exc:
            raise InvalidRequestError(
                "invalid_event_data", f"the event's data is a string but {exc}", "data"
            ) from None
    if not isinstance(data, dict):
        raise InvalidRequestError(
            "invalid_event_data", "the event's data must be a send request object", "data"
        )
    return data


def event_default_id(event_id: object) -> str | None:
    """The event id as a request id; one that breaks the id rule is hashed, still stable.

    An id that is not Unicode text (a lone surrogate) could not be stored or hashed the
    same way twice, so it is refused rather than guessed at.
    """
    if not isinstance(event_id, str) or not event_id:
        return None
    if ID_PATTERN.fullmatch(event_id):
        return event_id
    try:
        encoded = event_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequestError(
            "invalid_event_id", "the event's id is not valid Unicode text", "id"
        ) from None
    return _EVENT_ID_PREFIX + hashlib.sha256(encoded).hexdigest()[:40]


def unwrap(document: object) -> tuple[object, str | None]:
    """The request inside an envelope and its default id; anything else comes back as is."""
    if not is_envelope(document):
        return document, None
    assert isinstance(document, dict)
    return _data(document), event_default_id(document.get("id"))
