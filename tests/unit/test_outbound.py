"""The outbound request model: every rule refuses with its code and field."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.domain.outbound import (
    MAX_BODY,
    MAX_MEDIA,
    MAX_SAY,
    MAX_TAG,
    MAX_TWIML,
    MAX_URL,
    LoggedAs,
    OutboundRequest,
    parse_request,
)
from shared.domain.status import Kind
from shared.platform.errors import InvalidRequestError

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
TO = "+15551234567"
FROM = "+15005550006"


def sms(**fields: Any) -> dict[str, Any]:
    return {"kind": "sms", "to": TO, "body": "hello", **fields}


def call(**fields: Any) -> dict[str, Any]:
    return {"kind": "call", "to": TO, "say": "hello", **fields}


def without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in names}


def refusal(data: object, *, kind: Kind | None = None) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(data, kind=kind, now=NOW)
    return info.value


def twiml_of_length(length: int) -> str:
    head, tail = "<Response><Say>", "</Say></Response>"
    return head + "a" * (length - len(head) - len(tail)) + tail


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        pytest.param(["sms"], "invalid_request", None, id="a_list_is_not_an_object"),
        pytest.param("sms", "invalid_request", None, id="a_string_is_not_an_object"),
        pytest.param(sms(zeta=1, alpha=2), "unknown_field", "alpha", id="unknown_field_first"),
        pytest.param(sms(kind="fax"), "invalid_kind", "kind", id="kind_not_sms_or_call"),
        pytest.param(without(sms(), "kind"), "missing_kind", "kind", id="kind_missing"),
        pytest.param(sms(id="has space"), "invalid_id", "id", id="id_with_a_space"),
        pytest.param(sms(id="x" * 65), "invalid_id", "id", id="id_of_65_characters"),
        pytest.param(without(sms(), "to"), "missing_to", "to", id="to_missing"),
        pytest.param(sms(to="5551234567"), "invalid_to", "to", id="to_without_plus"),
        pytest.param(sms(to="+05551234567"), "invalid_to", "to", id="to_with_leading_zero"),
        pytest.param(sms(to="+1234567890123456"), "invalid_to", "to", id="to_of_16_digits"),
        pytest.param(sms(**{"from": "555-1234"}), "invalid_from", "from", id="from_not_e164"),
        pytest.param(sms(body="a" * (MAX_BODY + 1)), "body_too_long", "body", id="body_1601"),
        pytest.param(without(sms(), "body"), "missing_body", "body", id="sms_without_content"),
        pytest.param(sms(body=""), "missing_body", "body", id="sms_with_empty_body"),
        pytest.param(sms(body=None, media_urls=[]), "missing_body", "body", id="sms_with_no_media"),
        pytest.param(
            sms(media_urls="https://example.com/a.png"),
            "invalid_media_urls",
            "media_urls",
            id="media_urls_a_string",
        ),
        pytest.param(
            sms(media_urls=[1]), "invalid_media_urls", "media_urls", id="media_urls_not_strings"
        ),
        pytest.param(
            sms(media_urls=[f"https://example.com/{n}.png" for n in range(MAX_MEDIA + 1)]),
            "too_many_media_urls",
            "media_urls",
            id="eleven_media_urls",
        ),
        pytest.param(
            sms(media_urls=["http://example.com/a.png"]),
            "invalid_media_urls",
            "media_urls",
            id="media_url_over_http",
        ),
        pytest.param(sms(say="hi"), "field_not_allowed", "say", id="say_on_sms"),
        pytest.param(sms(twiml="<Response/>"), "field_not_allowed", "twiml", id="twiml_on_sms"),
        pytest.param(sms(url="https://example.com/t"), "field_not_allowed", "url", id="url_on_sms"),
        pytest.param(call(body="hi"), "field_not_allowed", "body", id="body_on_call"),
        pytest.param(
            call(media_urls=["https://example.com/a.png"]),
            "field_not_allowed",
            "media_urls",
            id="media_urls_on_call",
        ),
        pytest.param(
            without(call(), "say"), "missing_call_content", "say", id="call_without_content"
        ),
        pytest.param(call(say="   "), "invalid_say", "say", id="say_blank"),
        pytest.param(call(say="a" * (MAX_SAY + 1)), "say_too_long", "say", id="say_3001"),
        pytest.param(
            call(say=None, twiml=twiml_of_length(MAX_TWIML + 1)),
            "twiml_too_long",
            "twiml",
            id="twiml_4001",
        ),
        pytest.param(
            call(say=None, twiml="<Response><Say>hi</Response>"),
            "invalid_twiml",
            "twiml",
            id="twiml_not_xml",
        ),
        pytest.param(
            call(say=None, twiml="<Say>hi</Say>"),
            "invalid_twiml",
            "twiml",
            id="twiml_root_not_response",
        ),
        pytest.param(
            call(say=None, url="ftp://example.com/t.xml"), "invalid_url", "url", id="url_ftp"
        ),
        pytest.param(call(say=None, url="twiml please"), "invalid_url", "url", id="url_text"),
        pytest.param(call(say=None, url="https://"), "invalid_url", "url", id="url_no_host"),
        pytest.param(
            sms(send_at="next tuesday"), "invalid_send_at", "send_at", id="send_at_not_iso"
        ),
        pytest.param(
            sms(send_at="2030-01-01T13:00:00"),
            "invalid_send_at",
            "send_at",
            id="send_at_without_offset",
        ),
        pytest.param(
            sms(send_at=(NOW + timedelta(days=7, seconds=1)).isoformat()),
            "send_at_too_far",
            "send_at",
            id="send_at_beyond_7_days",
        ),
        pytest.param(
            sms(send_at=(NOW - timedelta(minutes=6)).isoformat()),
            "send_at_in_past",
            "send_at",
            id="send_at_past_beyond_grace",
        ),
        pytest.param(sms(tag="t" * (MAX_TAG + 1)), "invalid_tag", "tag", id="tag_257"),
        pytest.param(sms(to=TO + "\n"), "invalid_to", "to", id="to_with_trailing_newline"),
        pytest.param(
            sms(**{"from": "+15005550006\n"}), "invalid_from", "from", id="from_with_newline"
        ),
        pytest.param(sms(id="abc\n"), "invalid_id", "id", id="id_with_trailing_newline"),
        pytest.param(
            call(say=None, url="https://gw.example/t\n"), "invalid_url", "url", id="url_newline"
        ),
        pytest.param(
            sms(media_urls=["https://gw.example/a.png\n"]),
            "invalid_media_urls",
            "media_urls",
            id="media_url_with_trailing_newline",
        ),
        pytest.param(
            sms(to="+1\u0665\u0665\u06655551234"), "invalid_to", "to", id="to_arabic_digits"
        ),
        pytest.param(sms(to="+1\uff15\uff15\uff155551234"), "invalid_to", "to", id="to_fullwidth"),
        pytest.param(
            call(say=None, url="https://gw.example/" + "a" * MAX_URL),
            "url_too_long",
            "url",
            id="url_over_2048",
        ),
        pytest.param(
            sms(media_urls=["https://gw.example/" + "a" * MAX_URL]),
            "media_url_too_long",
            "media_urls",
            id="media_url_over_2048",
        ),
        pytest.param(sms(body="a\ud800b"), "invalid_body", "body", id="body_lone_surrogate"),
        pytest.param(call(say="a\udfffb"), "invalid_say", "say", id="say_lone_surrogate"),
        pytest.param(sms(tag="\ud800"), "invalid_tag", "tag", id="tag_lone_surrogate"),
        pytest.param(
            sms(media_urls=["https://gw.example/\ud800"]),
            "invalid_media_urls",
            "media_urls",
            id="media_url_lone_surrogate",
        ),
        pytest.param(
            sms(**{"\ud800": 1}), "unknown_field", "'\\ud800'", id="field_name_lone_surrogate"
        ),
    ],
)
def test_request_breaking_a_rule_is_refused_with_code_and_field(
    data: object, code: str, field: str | None
) -> None:
    error = refusal(data)

    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param(sms(id=7), "id", id="id"),
        pytest.param(sms(kind=1), "kind", id="kind"),
        pytest.param(sms(to=15551234567), "to", id="to"),
        pytest.param(sms(**{"from": 15005550006}), "from", id="from"),
        pytest.param(sms(body=["hello"]), "body", id="body"),
        pytest.param(call(say={"text": "hi"}), "say", id="say"),
        pytest.param(call(say=None, twiml=1), "twiml", id="twiml"),
        pytest.param(call(say=None, url=True), "url", id="url"),
        pytest.param(sms(send_at=1893499200), "send_at", id="send_at"),
        pytest.param(sms(tag=5), "tag", id="tag"),
    ],
)
def test_non_string_field_is_refused_as_invalid_naming_it(data: object, field: str) -> None:
    error = refusal(data)

    assert (error.code, error.field) == (f"invalid_{field}", field)


def test_kind_that_differs_from_the_route_is_refused() -> None:
    error = refusal(call(), kind="sms")

    assert (error.code, error.field) == ("invalid_kind", "kind")
    assert "sms" in error.message


def test_route_supplies_the_kind_when_the_document_has_none() -> None:
    request = parse_request(without(call(), "kind"), kind="call", now=NOW)

    assert request.kind == "call"


@pytest.mark.parametrize(
    ("extra", "second"),
    [
        pytest.param({"url": "https://example.com/t.xml"}, "url", id="say_and_url"),
        pytest.param({"twiml": "<Response/>"}, "twiml", id="say_and_twiml"),
    ],
)
def test_call_with_two_contents_is_refused_naming_the_second(
    extra: dict[str, Any], second: str
) -> None:
    error = refusal(call(**extra))

    assert (error.code, error.field) == ("conflicting_call_content", second)


def test_call_with_twiml_and_url_is_refused_naming_url() -> None:
    error = refusal(call(say=None, twiml="<Response/>", url="https://example.com/t.xml"))

    assert (error.code, error.field) == ("conflicting_call_content", "url")


def test_call_with_empty_url_is_refused() -> None:
    error = refusal(call(say=None, url=""))

    assert (error.code, error.field) == ("invalid_url", "url")


def test_empty_id_is_refused() -> None:
    error = refusal(sms(id=""))

    assert (error.code, error.field) == ("invalid_id", "id")


def test_invalid_default_id_is_refused_naming_id() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(sms(), default_id="not valid!", now=NOW)

    assert (info.value.code, info.value.field) == ("invalid_id", "id")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(sms(body="a" * MAX_BODY), id="body_of_1600"),
        pytest.param(
            sms(body=None, media_urls=[f"https://example.com/{n}.png" for n in range(MAX_MEDIA)]),
            id="ten_media_urls_without_body",
        ),
        pytest.param(call(say="a" * MAX_SAY), id="say_of_3000"),
        pytest.param(call(say=None, twiml=twiml_of_length(MAX_TWIML)), id="twiml_of_4000"),
        pytest.param(call(say=None, url="https://example.com/t.xml"), id="https_url"),
        pytest.param(sms(tag="t" * MAX_TAG), id="tag_of_256"),
        pytest.param(sms(send_at=(NOW + timedelta(days=7)).isoformat()), id="send_at_in_7_days"),
        pytest.param(
            sms(send_at=(NOW - timedelta(minutes=4)).isoformat()), id="send_at_within_grace"
        ),
        pytest.param(sms(id="A-z_09" + "x" * 58), id="id_of_64_characters"),
        pytest.param(
            call(say=None, url="https://gw.example/" + "a" * (MAX_URL - 19)), id="url_of_2048"
        ),
    ],
)
def test_request_at_the_limit_is_accepted(data: dict[str, Any]) -> None:
    request = parse_request(data, now=NOW)

    assert request.to == TO


def test_send_at_with_an_offset_is_stored_in_utc() -> None:
    request = parse_request(sms(send_at="2030-01-01T14:00:00+02:00"), now=NOW)

    assert request.send_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert request.send_at.tzinfo == UTC


def test_refusal_renders_as_the_api_error_shape() -> None:
    error = refusal(sms(to="nope"))

    assert error.as_json() == {
        "error": {"code": "invalid_to", "message": error.message, "field": "to"}
    }


def test_refusal_without_field_leaves_field_out_of_the_error_shape() -> None:
    assert "field" not in refusal([]).as_json()["error"]


FULL_SMS = sms(
    id="sms-1",
    **{"from": FROM},
    media_urls=["https://example.com/a.png", "https://example.com/b.png"],
    send_at="2030-01-02T09:30:00+01:00",
    tag="order 42 ✓",
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(FULL_SMS, id="sms_with_every_field"),
        pytest.param(call(id="call-1", tag="t"), id="call_with_say"),
        pytest.param(call(say=None, twiml="<Response><Hangup/></Response>"), id="call_twiml"),
        pytest.param(call(say=None, url="https://example.com/t.xml"), id="call_url"),
    ],
)
def test_to_document_parses_back_to_the_same_request(data: dict[str, Any]) -> None:
    request = parse_request(data, now=NOW)

    assert parse_request(request.to_document(), now=NOW) == request


def test_to_json_parses_back_to_the_same_request() -> None:
    request = parse_request(FULL_SMS, now=NOW)

    assert parse_request(json.loads(request.to_json()), now=NOW) == request


def test_to_document_leaves_out_unset_fields() -> None:
    request = parse_request(sms(id="abc"), now=NOW)

    assert request.to_document() == {"id": "abc", "kind": "sms", "to": TO, "body": "hello"}


def test_fingerprint_ignores_the_id() -> None:
    first = parse_request(sms(id="one"), now=NOW)
    second = parse_request(sms(id="two"), now=NOW)

    assert first.fingerprint() == second.fingerprint()


BASE = parse_request(FULL_SMS, now=NOW)


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(replace(BASE, to="+15550000000"), id="to"),
        pytest.param(replace(BASE, from_="+15550000001"), id="from"),
        pytest.param(replace(BASE, body="other"), id="body"),
        pytest.param(replace(BASE, media_urls=("https://example.com/a.png",)), id="media_urls"),
        pytest.param(replace(BASE, send_at=NOW + timedelta(hours=1)), id="send_at"),
        pytest.param(replace(BASE, tag="other"), id="tag"),
        pytest.param(replace(BASE, kind="call", body=None, media_urls=(), say="x"), id="kind"),
    ],
)
def test_fingerprint_changes_with_any_payload_field(changed: OutboundRequest) -> None:
    assert changed.fingerprint() != BASE.fingerprint()


@pytest.mark.parametrize(
    ("field", "value"),
    [("say", "other"), ("twiml", "<Response/>"), ("url", "https://example.com/other")],
)
def test_fingerprint_changes_with_call_content(field: str, value: str) -> None:
    base = OutboundRequest(id="c", kind="call", to=TO, say="hello")
    changes: dict[str, Any] = {"say": None, field: value}
    changed = replace(base, **changes)

    assert changed.fingerprint() != base.fingerprint()


def test_default_id_is_a_fresh_uuid() -> None:
    first = parse_request(sms(), now=NOW)
    second = parse_request(sms(), now=NOW)

    assert uuid.UUID(first.id).version == 4
    assert first.id != second.id


def test_default_id_wins_over_generating_one() -> None:
    request = parse_request(sms(), default_id="idem-key-1", now=NOW)

    assert request.id == "idem-key-1"


@pytest.mark.parametrize("send_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_send_at_outside_utc_range_is_refused_without_schedule_limits(send_at: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(sms(send_at=send_at), schedule_limits=False)

    assert (info.value.code, info.value.field) == ("invalid_send_at", "send_at")


def test_say_call_takes_a_voice_and_a_language() -> None:
    request = parse_request(
        call(say="안녕하세요", voice="Polly.Seoyeon", language="ko-KR"), now=NOW
    )

    assert (request.voice, request.language) == ("Polly.Seoyeon", "ko-KR")
    assert request.to_document()["language"] == "ko-KR"


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        (call(language="korean"), "invalid_language", "language"),
        (call(language="ko-KR\n"), "invalid_language", "language"),
        (call(voice="Polly Seoyeon"), "invalid_voice", "voice"),
        (
            without(call(url="https://example.com/t", voice="alice"), "say"),
            "field_not_allowed",
            "voice",
        ),
        (sms(language="ko-KR"), "field_not_allowed", "language"),
    ],
)
def test_voice_and_language_break_their_rules_by_name(
    data: dict[str, Any], code: str, field: str
) -> None:
    error = refusal(data)

    assert (error.code, error.field) == (code, field)


def test_voice_and_language_change_the_fingerprint_only_when_given() -> None:
    plain = parse_request(call(), now=NOW)

    assert plain.fingerprint() == parse_request(call(), now=NOW).fingerprint()
    assert plain.fingerprint() != parse_request(call(language="ko-KR"), now=NOW).fingerprint()


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_traceparent_travels_with_the_request() -> None:
    request = parse_request(sms(traceparent=TRACEPARENT), now=NOW)

    assert request.traceparent == TRACEPARENT
    assert parse_request(json.loads(request.to_json()), now=NOW) == request


@pytest.mark.parametrize(
    "value",
    [
        TRACEPARENT + "\n",
        TRACEPARENT.upper(),
        "ff" + TRACEPARENT[2:],
        "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-" + "0" * 16 + "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b\u0667-01",
    ],
    ids=["newline", "uppercase", "version-ff", "zero-trace", "zero-parent", "no-flags", "digit"],
)
def test_malformed_traceparent_is_refused_naming_it(value: str) -> None:
    error = refusal(sms(traceparent=value))

    assert (error.code, error.field) == ("invalid_traceparent", "traceparent")


def test_fingerprint_ignores_the_trace() -> None:
    traced = parse_request(sms(id="one", traceparent=TRACEPARENT), now=NOW)
    untraced = parse_request(sms(id="one"), now=NOW)

    assert traced.fingerprint() == untraced.fingerprint()


NOTE = {"at": "2030-01-01T12:00:00+00:00", "etag": "W/\"datetime'2030-01-01T12%3A00Z'\""}


def test_the_apis_note_round_trips_through_a_queue_message() -> None:
    request = parse_request(sms(logged_as=NOTE), from_queue=True, now=NOW)

    assert request.logged_as == LoggedAs(NOW, NOTE["etag"])
    assert parse_request(json.loads(request.to_json()), from_queue=True, now=NOW) == request


def test_the_apis_note_is_not_part_of_the_request() -> None:
    noted = parse_request(sms(id="a", logged_as=NOTE), from_queue=True, now=NOW)

    assert noted.fingerprint() == parse_request(sms(id="a"), now=NOW).fingerprint()


def test_the_api_refuses_a_note_of_its_own_from_a_client() -> None:
    error = refusal(sms(logged_as=NOTE))

    assert (error.code, error.field) == ("unknown_field", "logged_as")


@pytest.mark.parametrize(
    "note",
    [
        "yes",
        {"at": NOTE["at"]},
        {**NOTE, "extra": 1},
        {**NOTE, "at": "2030-01-01T12:00:00"},
        {**NOTE, "at": "tomorrow"},
        {**NOTE, "etag": ""},
        {**NOTE, "etag": "é"},
        {**NOTE, "etag": 7},
    ],
)
def test_a_malformed_note_is_refused_naming_it(note: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_request(sms(logged_as=note), from_queue=True, now=NOW)

    assert (info.value.code, info.value.field) == ("invalid_logged_as", "logged_as")
