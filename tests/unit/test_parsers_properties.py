"""Property-based: whatever arrives, every parser answers with a result or a named refusal.

The request parser, the queue decoder, the envelope unwrapper, the list API's continuation
tokens, the webhook form parser and the forwarded headers are fed arbitrary JSON values,
strings with any code point (lone surrogates included) and arbitrary bytes.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.delivery.status_checks import CHECK_KIND, parse_checks
from shared.domain.event_envelope import unwrap
from shared.domain.outbound import ID_PATTERN, parse_request
from shared.domain.transitions import new_outbound_record
from shared.handlers.list_api import parse_list_request
from shared.platform.errors import InvalidRequestError
from shared.platform.http import HttpError, form_params, read_json
from shared.platform.queue_codec import decode_queue_text
from shared.platform.settings import load_settings
from shared.twilio.signatures import (
    MISMATCH,
    UntrustedUrlError,
    is_from_twilio,
    public_url,
    refusal,
)
from shared.twilio.twiml import twimlet_messages_from

FIELDS = ["id", "kind", "to", "from", "body", "media_urls", "say", "twiml", "url", "send_at", "tag"]
# Any code point, with the troublemakers (lone surrogates, newlines, non-ASCII digits) common.
# Built from lists: st.text() with a mixed alphabet silently leaves surrogates out.
ANY_TEXT = st.lists(
    st.characters(codec=None, exclude_categories=())
    | st.characters(categories=["Cs"])
    | st.sampled_from(["\n", "\u0665", "+", "1"]),
    max_size=40,
).map("".join)
NEAR_VALID_TEXT = st.sampled_from(
    [
        "+15551234567",
        "+15551234567\n",
        "+1\u0665\u0665\u06655551234",
        "sms",
        "call",
        "hi",
        "",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2030-01-01T00:00:00Z",
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT | NEAR_VALID_TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(ANY_TEXT | st.sampled_from(FIELDS), children, max_size=4)
    ),
    max_leaves=12,
)
BASES = st.sampled_from(
    [
        {"kind": "sms", "to": "+15551234567", "body": "hi"},
        {"kind": "call", "to": "+15551234567", "say": "hi"},
        {"kind": "call", "to": "+15551234567", "url": "https://gw.example/twiml"},
    ]
)
# Valid documents with a few fields replaced, so most examples get deep into validation.
DOCUMENTS = st.builds(
    lambda base, changes: {**base, **changes},
    BASES,
    st.dictionaries(st.sampled_from(FIELDS), NEAR_VALID_TEXT | ANY_TEXT | JSON_VALUES, max_size=2),
)
SETTINGS = load_settings(
    {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "TWILIO_AUTH_TOKEN": "token"}
)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def accepted_or_refused(document: Any, *, schedule_limits: bool = True) -> None:
    """A valid request must also survive everything done with it next: JSON for the queue,
    the fingerprint and the log record."""
    try:
        request = parse_request(document, schedule_limits=schedule_limits)
    except InvalidRequestError as exc:
        assert exc.code and exc.message  # noqa: PT017 - the refusal is the outcome
        json.dumps(exc.as_json(), ensure_ascii=False).encode("utf-8")
        return
    request.to_json().encode("utf-8")
    request.fingerprint()
    new_outbound_record(request, source="queue", store_bodies=False)


@PROPERTY
@given(JSON_VALUES)
def test_request_parser_accepts_or_names_the_rule_for_any_json_value(value: Any) -> None:
    accepted_or_refused(value)


@PROPERTY
@given(DOCUMENTS, st.booleans())
def test_request_parser_accepts_or_names_the_rule_for_any_document(
    document: Any, schedule_limits: bool
) -> None:
    accepted_or_refused(document, schedule_limits=schedule_limits)


NOTES = st.fixed_dictionaries(
    {"at": NEAR_VALID_TEXT | ANY_TEXT, "etag": ANY_TEXT | st.sampled_from(['W/"1"', ""])}
)


@PROPERTY
@given(DOCUMENTS, NOTES | JSON_VALUES)
def test_queue_parser_accepts_or_names_the_rule_for_any_note_from_the_api(
    document: Any, note: Any
) -> None:
    try:
        request = parse_request({**document, "logged_as": note}, from_queue=True)
    except InvalidRequestError as exc:
        assert exc.code and exc.message  # noqa: PT017 - the refusal is the outcome
        return
    assert parse_request(json.loads(request.to_json()), from_queue=True) == request


@PROPERTY
@given(st.dictionaries(st.sampled_from(["id", "ids", "attempt", "request"]), JSON_VALUES))
def test_status_check_parser_accepts_or_names_the_rule_for_any_document(document: Any) -> None:
    try:
        checks = parse_checks({"kind": CHECK_KIND, **document})
    except InvalidRequestError as exc:
        assert exc.code and exc.message  # noqa: PT017 - the refusal is the outcome
        return
    assert checks and all(check.attempt >= 1 for check in checks)


def http_request(body: bytes, content_type: str = "application/json") -> func.HttpRequest:
    return func.HttpRequest(
        "POST", "http://localhost/api/messages", headers={"Content-Type": content_type}, body=body
    )


@PROPERTY
@given(st.binary(max_size=200) | ANY_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass")))
def test_json_body_reader_answers_any_bytes_with_a_value_or_an_http_error(body: bytes) -> None:
    status = 200
    try:
        read_json(http_request(body))
    except HttpError as exc:
        status = exc.status
    assert status in (200, 400, 413, 415)


@PROPERTY
@given(st.binary(max_size=200) | ANY_TEXT | JSON_VALUES.map(json.dumps))
def test_queue_decoder_answers_any_message_with_a_document_or_a_refusal(raw: bytes | str) -> None:
    try:
        document = decode_queue_text(raw)
    except InvalidRequestError as exc:
        assert exc.code == "undecodable_message"  # noqa: PT017 - the refusal is the outcome
        return
    accepted_or_refused(document, schedule_limits=False)


@PROPERTY
@given(st.binary(max_size=200), st.sampled_from(["application/x-www-form-urlencoded", ""]))
def test_webhook_form_parser_and_signature_check_take_any_bytes(
    body: bytes, content_type: str
) -> None:
    request = func.HttpRequest(
        "POST",
        "http://localhost/api/twilio/sms",
        headers={"Content-Type": content_type, "X-Twilio-Signature": "x"},
        body=body,
    )

    params = form_params(request)

    assert all(isinstance(values, list) for values in params.values())
    assert is_from_twilio(request, SETTINGS) is False


ODD_INDEXES = st.sampled_from(["\u00b2", "\u0663", "9" * 5000, "07", "-1"])
TWIMLET_KEYS = st.builds(
    lambda index: f"Message[{index}]", ODD_INDEXES | st.integers().map(str) | ANY_TEXT
)


@PROPERTY
@given(st.dictionaries(TWIMLET_KEYS | ANY_TEXT, ANY_TEXT, max_size=6))
def test_twimlet_parameters_of_any_shape_give_a_list_of_messages(params: dict[str, str]) -> None:
    assert all(isinstance(message, str) for message in twimlet_messages_from(params))


TOKEN_DAYS = st.dates(min_value=date(1970, 1, 1), max_value=date(2999, 12, 31)).map(str)
TOKEN_ROWS = st.none() | st.builds(
    lambda micros, record_id: f"{micros:017d}-{record_id}",
    st.integers(min_value=0, max_value=10**17 - 1),
    st.sampled_from(["a", "x-1", "A" * 64]),
)
TOKEN_DOCUMENTS = (
    st.fixed_dictionaries({"d": TOKEN_DAYS | ANY_TEXT | JSON_VALUES, "r": TOKEN_ROWS | ANY_TEXT})
    | JSON_VALUES
)
TOKENS = (
    ANY_TEXT
    | st.binary(max_size=120).map(lambda raw: base64.urlsafe_b64encode(raw).decode())
    | TOKEN_DOCUMENTS.map(
        lambda document: base64.urlsafe_b64encode(
            json.dumps(document).encode("utf-8", "surrogatepass")
        ).decode()
    )
    | st.sampled_from([base64.urlsafe_b64encode(b"[" * 1500).decode()])
)
WINDOWS = st.tuples(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2999, 1, 1)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)


@PROPERTY
@given(TOKENS, WINDOWS)
def test_any_continuation_token_is_a_position_in_range_or_a_named_400(
    token: str, window: tuple[datetime, timedelta]
) -> None:
    since = window[0].replace(tzinfo=UTC)
    until = min(since + window[1], datetime(3000, 1, 1, tzinfo=UTC))
    params = {"since": since.isoformat(), "until": until.isoformat(), "continuation": token}
    try:
        request = parse_list_request("sms", params, until)
    except HttpError as exc:
        assert (exc.status, exc.error.code, exc.error.field) == (  # noqa: PT017
            400,
            "invalid_continuation",
            "continuation",
        )
        return
    assert request.start is not None
    assert since.date() <= request.start.day <= until.date()
    # What the Tables SDK will encode into the filter: ASCII only, never a surrogate.
    (request.start.after_row or "").encode("ascii")


ENVELOPES = st.builds(
    lambda envelope, data_field, data, event_id: {
        **envelope,
        data_field: data,
        **({"id": event_id} if event_id is not None else {}),
    },
    st.sampled_from(
        [
            {"eventType": "t", "eventTime": "2026-11-26T20:00:00Z", "dataVersion": "1"},
            {"specversion": "1.0", "source": "/s", "type": "t"},
        ]
    ),
    st.sampled_from(["data", "data_base64"]),
    DOCUMENTS
    | JSON_VALUES
    | DOCUMENTS.map(json.dumps)
    | DOCUMENTS.map(lambda document: base64.b64encode(json.dumps(document).encode()).decode())
    | st.sampled_from(["[" * 5000, "9" * 5000, "\u00e9QUJD"]),
    st.none() | ANY_TEXT | st.sampled_from(["evt-1", "evt\ud800"]),
)


@PROPERTY
@given(ENVELOPES)
def test_any_envelope_gives_a_request_or_a_named_refusal(envelope: dict[str, Any]) -> None:
    try:
        document, default_id = unwrap(envelope)
    except InvalidRequestError as exc:
        assert exc.code in ("invalid_event_data", "invalid_event_id")  # noqa: PT017
        assert exc.field in ("data", "data_base64", "id")  # noqa: PT017
        return
    assert default_id is None or ID_PATTERN.fullmatch(default_id)
    try:
        parse_request(document, default_id=default_id, schedule_limits=False, from_queue=True)
    except InvalidRequestError as exc:
        assert exc.code and exc.message  # noqa: PT017 - the refusal is the outcome


HEADER_VALUES = ANY_TEXT | st.sampled_from(
    ["x:abc", "x:99999", "[", "[::1]:7071", "gw.example:443", "gw.example", "https", "http"]
)
TRUSTING = load_settings(
    {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "TWILIO_AUTH_TOKEN": "token",
        "TRUST_FORWARDED_HEADERS": "true",
    }
)


@PROPERTY
@given(HEADER_VALUES, HEADER_VALUES)
def test_any_forwarded_headers_give_a_url_or_a_named_refusal(host: str, proto: str) -> None:
    request = func.HttpRequest(
        "POST",
        "http://internal:7071/api/twilio/sms",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": "c2ln",
            "X-Forwarded-Host": host,
            "X-Forwarded-Proto": proto,
        },
        body=b"From=%2B15551234567",
    )
    try:
        url = public_url(request, TRUSTING)
    except UntrustedUrlError as exc:
        assert str(exc).startswith(("X-Forwarded-", "the host"))  # noqa: PT017
        assert refusal(request, TRUSTING) == str(exc)  # noqa: PT017
        return
    assert urlsplit(url).scheme in ("http", "https")
    assert refusal(request, TRUSTING) == MISMATCH
