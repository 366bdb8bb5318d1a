"""Twilio's JSON shapes for messages, calls and list pages (api.v2010 in the OpenAPI file)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from localdev.twilio_sim.store import CallRecord, MessageRecord, RecordingRecord

API_VERSION = "2010-04-01"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")

_CALL_SUBRESOURCES = {
    "notifications": "Notifications",
    "recordings": "Recordings",
    "payments": "Payments",
    "events": "Events",
    "siprec": "Siprec",
    "streams": "Streams",
    "transcriptions": "Transcriptions",
    "user_defined_message_subscriptions": "UserDefinedMessageSubscriptions",
    "user_defined_messages": "UserDefinedMessages",
}


def new_sid(prefix: str, rng: random.Random) -> str:
    return f"{prefix}{rng.getrandbits(128):032x}"


def rfc2822(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_datetime(value.astimezone(UTC))


def account_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def num_segments(body: str | None) -> int:
    """Counts SMS segments the way carriers split them, since callers budget on this field."""
    if not body:
        return 1
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENDED for ch in body):
        septets = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in body)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def format_number(number: str) -> str:
    digits = number[2:]
    if number.startswith("+1") and len(digits) == 10 and digits.isdigit():
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


def message_json(message: MessageRecord) -> dict[str, Any]:
    base = f"{account_path(message.account_sid)}/Messages/{message.sid}"
    return {
        "account_sid": message.account_sid,
        "api_version": API_VERSION,
        "body": message.body or "",
        "date_created": rfc2822(message.date_created),
        "date_sent": rfc2822(message.date_sent),
        "date_updated": rfc2822(message.date_updated),
        "direction": message.direction,
        "error_code": message.error_code,
        "error_message": message.error_message,
        "from": message.from_,
        "messaging_service_sid": message.messaging_service_sid,
        "num_media": str(len(message.media_urls)),
        "num_segments": str(message.num_segments),
        "price": message.price,
        "price_unit": message.price_unit,
        "sid": message.sid,
        "status": message.status,
        "subresource_uris": {
            "media": f"{base}/Media.json",
            "feedback": f"{base}/Feedback.json",
        },
        "to": message.to,
        "uri": f"{base}.json",
    }


def call_json(call: CallRecord) -> dict[str, Any]:
    base = f"{account_path(call.account_sid)}/Calls/{call.sid}"
    return {
        "account_sid": call.account_sid,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": rfc2822(call.date_created),
        "date_updated": rfc2822(call.date_updated),
        "direction": call.direction,
        "duration": None if call.duration is None else str(call.duration),
        "end_time": rfc2822(call.end_time),
        "forwarded_from": None,
        "from": call.from_,
        "from_formatted": format_number(call.from_),
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": call.price,
        "price_unit": call.price_unit,
        "queue_time": "0",
        "sid": call.sid,
        "start_time": rfc2822(call.start_time),
        "status": call.status,
        "subresource_uris": {
            key: f"{base}/{name}.json" for key, name in _CALL_SUBRESOURCES.items()
        },
        "to": call.to,
        "to_formatted": format_number(call.to),
        "trunk_sid": None,
        "uri": f"{base}.json",
    }


def message_inspection(message: MessageRecord) -> dict[str, Any]:
    return {
        **message_json(message),
        "media_urls": list(message.media_urls),
        "status_callback": message.status_callback,
        "callbacks": [record.to_json() for record in message.callbacks],
    }


def call_inspection(call: CallRecord) -> dict[str, Any]:
    return {
        **call_json(call),
        "url": call.url,
        "method": call.method,
        "inline_twiml": call.twiml,
        "status_callback": call.status_callback,
        "status_callback_method": call.status_callback_method,
        "status_callback_events": list(call.status_callback_events),
        "twiml": None if call.twiml_record is None else call.twiml_record.to_json(),
        "callbacks": [record.to_json() for record in call.callbacks],
    }


def recording_json(recording: RecordingRecord) -> dict[str, Any]:
    base = account_path(recording.account_sid)
    return {
        "sid": recording.sid,
        "account_sid": recording.account_sid,
        "call_sid": recording.call_sid,
        "api_version": API_VERSION,
        "duration": str(recording.duration),
        "status": "completed",
        "date_created": rfc2822(recording.date_created),
        "uri": f"{base}/Recordings/{recording.sid}.json",
        "media_url": f"https://api.twilio.com{base}/Recordings/{recording.sid}",
    }


def list_page(
    key: str,
    items: list[dict[str, Any]],
    *,
    path: str,
    filters: list[tuple[str, str]],
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """Builds Twilio's list envelope; page links keep the filters so clients can follow them."""
    start = page * page_size
    chunk = items[start : start + page_size]

    def page_uri(number: int) -> str:
        query = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
        return f"{path}?{urlencode(query)}"

    has_next = start + page_size < len(items)
    return {
        key: chunk,
        "end": start + len(chunk) - 1 if chunk else start,
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": page_uri(page),
    }
