"""Twilio's create-request rules, error codes and test-credential magic numbers.

Codes follow Twilio's error dictionary and its test-credentials magic numbers. A few
could not be checked against Twilio's documentation here and are best guesses: 21232 for
an inline ``Twiml`` over Twilio's 4,000-character cap, 21219 for a ``Method`` or
``StatusCallbackMethod`` other than GET/POST, and 21626 for an unknown
``StatusCallbackEvent``. ``ApplicationSid`` alone is refused with 21205 because the
simulator has no applications to take a voice URL from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

FormParams = dict[str, list[str]]

MAX_BODY_CHARS = 1600
MAX_MEDIA_URLS = 10
MAX_TWIML_CHARS = 4000
CALL_EVENTS = ("initiated", "ringing", "answered", "completed")

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_SHORT_CODE = re.compile(r"^\d{5,6}$")
_ALPHANUMERIC_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_CALL_ENDPOINT = re.compile(r"^(client:[\w.@-]+|sip:.+@.+)$")

_MESSAGE_MAGIC_TO: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: {to}, is not currently reachable using the 'From' phone "
        "number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: {to}.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number {to} is not a valid mobile number"),
}
_MESSAGE_MAGIC_FROM: dict[str, tuple[int, str]] = {
    "+15005550001": (21212, "The 'From' number {from_} is not a valid phone number."),
    "+15005550007": (
        21606,
        "The 'From' phone number provided ({from_}) is not a valid message-capable Twilio "
        "phone number for this destination/account",
    ),
    "+15005550008": (
        21611,
        "This 'From' number ({from_}) has exceeded the maximum number of queued messages",
    ),
}
_CALL_MAGIC_TO: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number {to} is not a valid phone number."),
    "+15005550002": (21214, "'To' phone number {to} cannot be reached"),
    "+15005550003": (
        21215,
        "Account not authorized to call {to}. Perhaps you need to enable some international "
        "permissions",
    ),
    "+15005550004": (21216, "Account not allowed to call {to}"),
}
_CALL_MAGIC_FROM: dict[str, tuple[int, str]] = {
    "+15005550001": (21212, "The 'From' number {from_} is not a valid phone number."),
    "+15005550007": (21210, "The source phone number provided, {from_}, is not yet verified"),
}


class TwilioApiError(Exception):
    """A request Twilio would refuse, carrying the code and HTTP status Twilio answers with."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.status)


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


@dataclass(frozen=True)
class MessageRequest:
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str | None
    media_urls: list[str]
    status_callback: str | None


@dataclass(frozen=True)
class CallRequest:
    to: str
    from_: str
    url: str | None
    method: str
    twiml: str | None
    status_callback: str | None
    status_callback_method: str
    status_callback_events: list[str]


def first(params: FormParams, name: str) -> str | None:
    values = params.get(name)
    if not values or values[0] == "":
        return None
    return values[0]


def is_e164(number: str) -> bool:
    return bool(_E164.match(number))


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _message_to_valid(to: str) -> bool:
    return is_e164(to.removeprefix("whatsapp:"))


def _message_from_valid(sender: str) -> bool:
    if sender.startswith("whatsapp:"):
        return is_e164(sender.removeprefix("whatsapp:"))
    return bool(is_e164(sender) or _SHORT_CODE.match(sender) or _ALPHANUMERIC_ID.match(sender))


def _status_callback(params: FormParams) -> str | None:
    url = first(params, "StatusCallback")
    if url is not None and not is_http_url(url):
        raise TwilioApiError(21609, f"The StatusCallback URL {url} is not a valid URL.")
    return url


def _http_method(params: FormParams, name: str) -> str:
    method = (first(params, name) or "POST").upper()
    if method not in ("GET", "POST"):
        raise TwilioApiError(21219, f"{name} must be GET or POST, got {method}")
    return method


def _reject_magic_numbers(
    sender: str | None,
    to: str,
    magic_from: dict[str, tuple[int, str]],
    magic_to: dict[str, tuple[int, str]],
) -> None:
    """Twilio's test numbers fail with their documented error, the From number's first."""
    if sender is not None and sender in magic_from:
        code, text = magic_from[sender]
        raise TwilioApiError(code, text.format(from_=sender))
    if to in magic_to:
        code, text = magic_to[to]
        raise TwilioApiError(code, text.format(to=to))


def validate_message(params: FormParams) -> MessageRequest:
    to = first(params, "To")
    if to is None:
        raise TwilioApiError(21604, "A 'To' phone number is required.")
    if not _message_to_valid(to):
        raise TwilioApiError(21211, f"The 'To' number {to} is not a valid phone number.")
    sender = first(params, "From")
    service = first(params, "MessagingServiceSid")
    if sender is None and service is None:
        raise TwilioApiError(21603, "A 'From' phone number or a 'MessagingServiceSid' is required.")
    if sender is not None and not _message_from_valid(sender):
        raise TwilioApiError(21212, f"The 'From' number {sender} is not a valid phone number.")
    if service is not None and not _MESSAGING_SERVICE_SID.match(service):
        raise TwilioApiError(21701, f"The Messaging Service Sid {service} is invalid.")
    body = first(params, "Body")
    media_urls = [url for url in params.get("MediaUrl", []) if url]
    if body is None and not media_urls and first(params, "ContentSid") is None:
        raise TwilioApiError(21602, "Message body is required.")
    if body is not None and len(body) > MAX_BODY_CHARS:
        raise TwilioApiError(
            21617, "The concatenated message body exceeds the 1600 character limit."
        )
    if len(media_urls) > MAX_MEDIA_URLS:
        raise TwilioApiError(21623, "Number of media files exceeds allowed limit")
    bad_media = [url for url in media_urls if not is_http_url(url)]
    if bad_media:
        raise TwilioApiError(21620, f"Invalid media URL(s): {', '.join(bad_media)}")
    status_callback = _status_callback(params)
    _reject_magic_numbers(sender, to, _MESSAGE_MAGIC_FROM, _MESSAGE_MAGIC_TO)
    return MessageRequest(
        to=to,
        from_=sender,
        messaging_service_sid=service,
        body=body,
        media_urls=media_urls,
        status_callback=status_callback,
    )


def validate_call(params: FormParams) -> CallRequest:
    to = first(params, "To")
    if to is None:
        raise TwilioApiError(21201, "No 'To' number is specified")
    if not (is_e164(to) or _CALL_ENDPOINT.match(to)):
        raise TwilioApiError(21211, f"The 'To' number {to} is not a valid phone number.")
    sender = first(params, "From")
    if sender is None:
        raise TwilioApiError(21213, "No 'From' number is specified")
    if not (is_e164(sender) or _CALL_ENDPOINT.match(sender)):
        raise TwilioApiError(21212, f"The 'From' number {sender} is not a valid phone number.")
    url = first(params, "Url")
    twiml = first(params, "Twiml")
    if url is None and twiml is None:
        raise TwilioApiError(21205, "Url parameter is required (or Twiml).")
    if twiml is None and url is not None and not is_http_url(url):
        raise TwilioApiError(21205, f"Url {url} is not a valid URL.")
    if twiml is not None and len(twiml) > MAX_TWIML_CHARS:
        raise TwilioApiError(21232, "Twiml parameter exceeds the 4000 character limit.")
    method = _http_method(params, "Method")
    status_callback = _status_callback(params)
    callback_method = _http_method(params, "StatusCallbackMethod")
    events = _callback_events(params)
    _reject_magic_numbers(sender, to, _CALL_MAGIC_FROM, _CALL_MAGIC_TO)
    return CallRequest(
        to=to,
        from_=sender,
        url=url,
        method=method,
        twiml=twiml,
        status_callback=status_callback,
        status_callback_method=callback_method,
        status_callback_events=events,
    )


def _callback_events(params: FormParams) -> list[str]:
    """Twilio sends only ``completed`` when no events are named; values may be space-joined."""
    events: list[str] = []
    for raw in params.get("StatusCallbackEvent", []):
        events.extend(part for part in raw.split() if part)
    unknown = [event for event in events if event not in CALL_EVENTS]
    if unknown:
        raise TwilioApiError(21626, f"Invalid StatusCallbackEvent value(s): {', '.join(unknown)}")
    return events or ["completed"]
