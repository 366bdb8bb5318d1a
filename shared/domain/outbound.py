"""The one outbound request model, shared by the HTTP API and the queue.

Both entry points validate with the same code so a message that other Azure services put on
the queue obeys exactly the rules the API enforces, and every refusal names its field.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from shared.domain.callback_url import check_callback_events, check_callback_url
from shared.domain.status import KINDS, Kind
from shared.platform.errors import InvalidRequestError, shown
from shared.platform.settings import E164
from shared.platform.tracing import TRACEPARENT_PATTERN

# Anchored with \Z (not $, which accepts a trailing newline), so .match and .fullmatch agree.
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_HTTP_URL = re.compile(r"https?://[^\s/$.?#][^\s]*\Z")
_HTTPS_URL = re.compile(r"https://\S+\Z")
MAX_BODY = 1600
MAX_MEDIA = 10
MAX_TWIML = 4000
MAX_SAY = 3000
MAX_TAG = 256
# Twilio's own limit for a URL; it also keeps every field under Table Storage's 64 KiB property.
MAX_URL = 2048
MAX_SCHEDULE_AHEAD = timedelta(days=7)
SCHEDULE_GRACE = timedelta(minutes=5)

_FIELDS = frozenset(
    {"id", "kind", "to", "from", "body", "media_urls", "say", "twiml", "url", "send_at", "tag"}
    | {"voice", "language", "traceparent", "callback_url", "callback_events"}
)
_QUEUE_FIELDS = _FIELDS | {"logged_as"}
MAX_ETAG = 256
_SPEECH = ("voice", "language")
# Twilio voices look like alice, man, Polly.Seoyeon, Google.ko-KR-Standard-A.
VOICE_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
# BCP 47 language tags as Twilio takes them: en-US, ko-KR, cmn-CN, arb.
LANGUAGE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
_SMS_ONLY = ("body", "media_urls")
_CALL_ONLY = ("say", "twiml", "url")


@dataclass(frozen=True)
class LoggedAs:
    """The API's note on a message it queued: the record it has just inserted, by creation
    time and ETag, so that the worker can claim it without reading it first."""

    at: datetime
    etag: str

    def to_document(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "etag": self.etag}


@dataclass(frozen=True)
class OutboundRequest:
    id: str
    kind: Kind
    to: str
    from_: str | None = None
    body: str | None = None
    media_urls: tuple[str, ...] = ()
    say: str | None = None
    twiml: str | None = None
    url: str | None = None
    send_at: datetime | None = None
    tag: str | None = None
    voice: str | None = None
    language: str | None = None
    traceparent: str | None = None
    callback_url: str | None = None
    callback_events: tuple[str, ...] = ()
    logged_as: LoggedAs | None = None

    def to_document(self) -> dict[str, Any]:
        """The canonical JSON form: what the API enqueues and what the worker parses back."""
        document: dict[str, Any] = {"id": self.id, "kind": self.kind, "to": self.to}
        optional: dict[str, Any] = {
            "from": self.from_,
            "body": self.body,
            "media_urls": list(self.media_urls) or None,
            "say": self.say,
            "twiml": self.twiml,
            "url": self.url,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "tag": self.tag,
            "voice": self.voice,
            "language": self.language,
            "traceparent": self.traceparent,
            "callback_url": self.callback_url,
            "callback_events": list(self.callback_events) or None,
            "logged_as": self.logged_as.to_document() if self.logged_as else None,
        }
        document.update({key: value for key, value in optional.items() if value is not None})
        return document

    def with_traceparent(self, traceparent: str) -> OutboundRequest:
        return replace(self, traceparent=traceparent)

    def to_json(self) -> str:
        return json.dumps(self.to_document(), separators=(",", ":"), ensure_ascii=False)

    def fingerprint(self) -> str:
        """Hash of the payload without the id, the trace it travels in and the API's note:
        "same request" for Idempotency-Key repeats."""
        payload = {
            key: value
            for key, value in self.to_document().items()
            if key not in ("id", "traceparent", "logged_as")
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def is_text(value: str) -> bool:
    """False for strings that cannot be encoded as UTF-8 (lone surrogates from JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(f"invalid_{name}", f"'{name}' must be a string", name)
    if not is_text(value):
        raise InvalidRequestError(
            f"invalid_{name}", f"'{name}' is not valid Unicode text (a lone surrogate)", name
        )
    return value


def _phone(data: dict[str, Any], name: str) -> str | None:
    value = _string(data, name)
    if value is not None and not E164.fullmatch(value):
        raise InvalidRequestError(
            f"invalid_{name}",
            f"'{name}' must be an E.164 phone number like +15551234567, got {shown(value)}",
            name,
        )
    return value


def _http_url(value: str, name: str) -> str:
    if len(value) > MAX_URL:
        raise InvalidRequestError(
            f"{name}_too_long", f"'{name}' can be at most {MAX_URL} characters", name
        )
    if not _HTTP_URL.fullmatch(value):
        raise InvalidRequestError(f"invalid_{name}", f"'{name}' must be an http(s) URL", name)
    return value


def _media_urls(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("media_urls")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(item, str) and is_text(item) for item in value
    ):
        raise InvalidRequestError(
            "invalid_media_urls", "'media_urls' must be a list of URLs", "media_urls"
        )
    if len(value) > MAX_MEDIA:
        raise InvalidRequestError(
            "too_many_media_urls", f"'media_urls' takes at most {MAX_MEDIA} URLs", "media_urls"
        )
    for url in value:
        if len(url) > MAX_URL:
            raise InvalidRequestError(
                "media_url_too_long",
                f"a media URL can be at most {MAX_URL} characters",
                "media_urls",
            )
        if not _HTTPS_URL.fullmatch(url):
            raise InvalidRequestError(
                "invalid_media_urls", f"media URL {shown(url)} must be an https URL", "media_urls"
            )
    return tuple(value)


def _send_at(data: dict[str, Any], now: datetime | None) -> datetime | None:
    raw = _string(data, "send_at")
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidRequestError(
            "invalid_send_at",
            "'send_at' must be ISO 8601 like 2030-01-31T09:00:00+01:00",
            "send_at",
        ) from None
    if when.tzinfo is None:
        raise InvalidRequestError(
            "invalid_send_at", "'send_at' needs a UTC offset (Z or +hh:mm)", "send_at"
        )
    try:
        in_utc = when.astimezone(UTC)
    except OverflowError:
        raise InvalidRequestError(
            "invalid_send_at", "'send_at' is out of range in UTC", "send_at"
        ) from None
    if now is None:
        return in_utc
    if when > now + MAX_SCHEDULE_AHEAD:
        raise InvalidRequestError(
            "send_at_too_far", "'send_at' can be at most 7 days ahead", "send_at"
        )
    if when < now - SCHEDULE_GRACE:
        raise InvalidRequestError("send_at_in_past", "'send_at' is in the past", "send_at")
    return in_utc


def _twiml(data: dict[str, Any]) -> str | None:
    value = _string(data, "twiml")
    if value is None:
        return None
    if len(value) > MAX_TWIML:
        raise InvalidRequestError(
            "twiml_too_long", f"'twiml' can be at most {MAX_TWIML} characters", "twiml"
        )
    try:
        root = ElementTree.fromstring(value)  # noqa: S314 - parsed only to check the root element
    except ElementTree.ParseError as exc:
        raise InvalidRequestError("invalid_twiml", f"'twiml' is not XML: {exc}", "twiml") from None
    if root.tag != "Response":
        raise InvalidRequestError(
            "invalid_twiml", "'twiml' must be a <Response>...</Response> document", "twiml"
        )
    return value


def _sms_fields(data: dict[str, Any]) -> dict[str, Any]:
    body = _string(data, "body")
    if body is not None and len(body) > MAX_BODY:
        raise InvalidRequestError(
            "body_too_long", f"'body' can be at most {MAX_BODY} characters", "body"
        )
    media = _media_urls(data)
    if not body and not media:
        raise InvalidRequestError("missing_body", "an sms needs 'body' or 'media_urls'", "body")
    return {"body": body or None, "media_urls": media}


def _call_fields(data: dict[str, Any]) -> dict[str, Any]:
    given = [name for name in _CALL_ONLY if data.get(name) is not None]
    if not given:
        raise InvalidRequestError(
            "missing_call_content", "a call needs one of 'say', 'twiml' or 'url'", "say"
        )
    if len(given) > 1:
        raise InvalidRequestError(
            "conflicting_call_content",
            f"a call takes exactly one of 'say', 'twiml', 'url'; got {', '.join(given)}",
            given[1],
        )
    say = _string(data, "say")
    if say is not None and not say.strip():
        raise InvalidRequestError("invalid_say", "'say' must not be empty", "say")
    if say is not None and len(say) > MAX_SAY:
        raise InvalidRequestError(
            "say_too_long", f"'say' can be at most {MAX_SAY} characters", "say"
        )
    url = _string(data, "url")
    return {
        "say": say,
        "twiml": _twiml(data),
        "url": _http_url(url, "url") if url is not None else None,
        **_speech(data, say is not None),
    }


def _speech(data: dict[str, Any], saying: bool) -> dict[str, str | None]:
    """``voice`` and ``language`` of a ``say`` call (TwiML and URLs carry their own)."""
    rules = {"voice": VOICE_PATTERN, "language": LANGUAGE_PATTERN}
    examples = {"voice": "Polly.Seoyeon", "language": "ko-KR"}
    speech: dict[str, str | None] = {}
    for name in _SPEECH:
        value = _string(data, name)
        if value is not None and not saying:
            raise InvalidRequestError(
                "field_not_allowed", f"'{name}' applies only to a call with 'say'", name
            )
        if value is not None and not rules[name].fullmatch(value):
            raise InvalidRequestError(
                f"invalid_{name}",
                f"'{name}' must look like {examples[name]!r}, got {shown(value)}",
                name,
            )
        speech[name] = value
    return speech


def parse_request(
    data: object,
    *,
    kind: Kind | None = None,
    default_id: str | None = None,
    now: datetime | None = None,
    schedule_limits: bool = True,
    from_queue: bool = False,
    local_callbacks: bool = False,
) -> OutboundRequest:
    """Validate a decoded JSON document into an OutboundRequest.

    ``kind`` is fixed by the API route; queue messages must name it themselves. The limits on
    ``send_at`` (not in the past, at most 7 days ahead) are the API's: the worker passes
    ``schedule_limits=False``, because a scheduled message that is handled late is still due.
    Only a queue message may carry the API's ``logged_as`` note. ``local_callbacks``: the
    gateway runs against the local stack, so a ``callback_url`` may be http to a loopback host.
    """
    if not isinstance(data, dict):
        raise InvalidRequestError("invalid_request", "the request must be a JSON object")
    unknown = sorted(set(data) - (_QUEUE_FIELDS if from_queue else _FIELDS))
    if unknown:
        name = unknown[0] if is_text(unknown[0]) else shown(unknown[0])
        raise InvalidRequestError(
            "unknown_field", f"unknown field {shown(unknown[0])}; see the API reference", name
        )
    given_kind = _string(data, "kind")
    if given_kind is not None and given_kind not in KINDS:
        raise InvalidRequestError("invalid_kind", "'kind' must be 'sms' or 'call'", "kind")
    if kind is not None and given_kind is not None and given_kind != kind:
        raise InvalidRequestError(
            "invalid_kind", f"this endpoint sends {kind}, but 'kind' is {shown(given_kind)}", "kind"
        )
    resolved = kind if kind is not None else given_kind
    if resolved is None:
        raise InvalidRequestError("missing_kind", "'kind' is required: 'sms' or 'call'", "kind")

    given_id = _string(data, "id")
    request_id = given_id if given_id is not None else default_id or str(uuid.uuid4())
    if not ID_PATTERN.fullmatch(request_id):
        raise InvalidRequestError(
            "invalid_id", "'id' must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'", "id"
        )
    to = _phone(data, "to")
    if to is None:
        raise InvalidRequestError("missing_to", "'to' is required", "to")
    from_ = _phone(data, "from")

    wrong = (*_CALL_ONLY, *_SPEECH) if resolved == "sms" else _SMS_ONLY
    for name in wrong:
        if data.get(name) is not None:
            raise InvalidRequestError(
                "field_not_allowed", f"'{name}' does not apply to a {resolved}", name
            )
    content = _sms_fields(data) if resolved == "sms" else _call_fields(data)

    tag = _string(data, "tag")
    if tag is not None and len(tag) > MAX_TAG:
        raise InvalidRequestError(
            "invalid_tag", f"'tag' can be at most {MAX_TAG} characters", "tag"
        )

    traceparent = _string(data, "traceparent")
    if traceparent is not None and not TRACEPARENT_PATTERN.fullmatch(traceparent):
        raise InvalidRequestError(
            "invalid_traceparent",
            "'traceparent' must be a W3C trace context like 00-<32 hex>-<16 hex>-01",
            "traceparent",
        )

    callback_url = data.get("callback_url")
    if callback_url is not None:
        callback_url = check_callback_url(callback_url, local=local_callbacks)
    callback_events = check_callback_events(data.get("callback_events"))
    if callback_events and callback_url is None:
        raise InvalidRequestError(
            "callback_events_without_url",
            "'callback_events' says which events go to 'callback_url', which is missing",
            "callback_events",
        )

    return OutboundRequest(
        id=request_id,
        kind=resolved,
        to=to,
        from_=from_,
        send_at=_send_at(data, (now or datetime.now(UTC)) if schedule_limits else None),
        tag=tag,
        traceparent=traceparent,
        callback_url=callback_url,
        callback_events=callback_events,
        logged_as=_logged_as(data.get("logged_as")),
        **content,
    )


def _logged_as(value: object) -> LoggedAs | None:
    if value is None:
        return None
    wrong = InvalidRequestError(
        "invalid_logged_as",
        "'logged_as' is the API's own note: an object with 'at' (an ISO 8601 time with its "
        "offset) and 'etag'; other producers leave it out",
        "logged_as",
    )
    if not isinstance(value, dict) or set(value) != {"at", "etag"}:
        raise wrong
    at, etag = value["at"], value["etag"]
    if not isinstance(at, str) or not isinstance(etag, str) or not 0 < len(etag) <= MAX_ETAG:
        raise wrong
    if not (etag.isascii() and etag.isprintable()):
        raise wrong
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise wrong from None
    if when.tzinfo is None:
        raise wrong
    return LoggedAs(when, etag)
