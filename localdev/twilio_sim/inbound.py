"""Playing the other side: a phone that texts or calls the application, or presses keys."""

from __future__ import annotations

import json
import mimetypes
import xml.etree.ElementTree as ET
from typing import Any

from twilio.request_validator import HMAC_SHA1, HMAC_SHA256

from localdev.twilio_sim.lifecycle import TERMINAL_CALL_STATUSES, call_params
from localdev.twilio_sim.resources import API_VERSION, new_sid, num_segments, rfc2822
from localdev.twilio_sim.state import SimState
from localdev.twilio_sim.store import (
    CallRecord,
    InboundRecord,
    MessageRecord,
    TwimlRecord,
    utcnow,
)
from localdev.twilio_sim.twiml import DOCUMENT_PARSE_FAILURE, TwimlDocumentError, check_twiml
from localdev.twilio_sim.validation import is_http_url
from localdev.twilio_sim.webhooks import Signing, WebhookReply


class InboundSpecError(ValueError):
    """A /_sim/inbound request that does not say enough to play the other side."""


class UnknownCallError(LookupError):
    """Digits were sent for a call the simulator never saw."""


def _object(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InboundSpecError("expected a JSON object")
    return payload


def _text(payload: dict[str, Any], name: str, default: str | None = None) -> str:
    value = payload.get(name, default)
    if not isinstance(value, str) or value == "":
        raise InboundSpecError(f"'{name}' is required and must be a string")
    return value


def _url(payload: dict[str, Any]) -> str:
    url = _text(payload, "url")
    if not is_http_url(url):
        raise InboundSpecError(f"'url' must be an absolute http(s) URL, got {url!r}")
    return url


def _extra(payload: dict[str, Any]) -> dict[str, str]:
    extra = payload.get("params", {})
    if not isinstance(extra, dict):
        raise InboundSpecError("'params' must be an object of strings")
    return {str(key): str(value) for key, value in extra.items()}


def _method(payload: dict[str, Any]) -> str:
    method = str(payload.get("method", "POST")).upper()
    if method not in ("GET", "POST"):
        raise InboundSpecError("'method' must be GET or POST")
    return method


def _record(state: SimState, kind: str, reply: WebhookReply, sid: str | None) -> InboundRecord:
    record = InboundRecord(
        kind=kind,
        url=reply.url,
        method=reply.method,
        params=dict(reply.params),
        signature=reply.signature,
        status=reply.status,
        content_type=reply.content_type,
        body=reply.body,
        error=reply.error,
        sid=sid,
    )
    state.store.inbound.append(record)
    return record


async def inbound_sms(state: SimState, payload: object) -> InboundRecord:
    data = _object(payload)
    url = _url(data)
    media = data.get("media_urls", [])
    if not isinstance(media, list) or not all(isinstance(item, str) for item in media):
        raise InboundSpecError("'media_urls' must be a list of URLs")
    body = str(data.get("body", ""))
    service = data.get("messaging_service_sid")
    sid = new_sid("MM" if media else "SM", state.rng)
    message = MessageRecord(
        sid=sid,
        account_sid=state.config.account_sid,
        to=_text(data, "to"),
        from_=_text(data, "from"),
        body=body,
        media_urls=list(media),
        messaging_service_sid=None if service is None else str(service),
        status="received",
        num_segments=num_segments(body),
        direction="inbound",
    )
    message.date_sent = message.date_created
    state.store.messages[sid] = message
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": message.account_sid,
        "From": message.from_ or "",
        "To": message.to,
        "Body": body,
        "NumMedia": str(len(media)),
        "NumSegments": str(message.num_segments),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if message.messaging_service_sid is not None:
        params["MessagingServiceSid"] = message.messaging_service_sid
    for index, media_url in enumerate(media):
        params[f"MediaUrl{index}"] = media_url
        guessed, _ = mimetypes.guess_type(media_url)
        params[f"MediaContentType{index}"] = guessed or "image/jpeg"
    params.update(_extra(data))
    reply = await state.webhooks.request(url, _method(data), params)
    return _record(state, "sms", reply, sid)


def _status_callback(data: dict[str, Any]) -> str | None:
    """The number's "call status changes" URL: told once, when the call ends."""
    if "status_callback" not in data:
        return None
    url = _text(data, "status_callback")
    if not is_http_url(url):
        raise InboundSpecError(f"'status_callback' must be an absolute http(s) URL, got {url!r}")
    return url


async def inbound_call(state: SimState, payload: object) -> InboundRecord:
    data = _object(payload)
    url = _url(data)
    sid = new_sid("CA", state.rng)
    method = _method(data)
    call = CallRecord(
        sid=sid,
        account_sid=state.config.account_sid,
        to=_text(data, "to"),
        from_=_text(data, "from"),
        status="ringing",
        direction="inbound",
        url=url,
        method=method,
        status_callback=_status_callback(data),
        status_callback_events=["completed"],
    )
    state.store.calls[sid] = call
    params = call_params(call, "ringing")
    params.update(_extra(data))
    reply = await state.webhooks.request(url, method, params)
    call.twiml_record = _answer_record(reply)
    record = _record(state, "call", reply, sid)
    if call.twiml_record.error_code is not None:
        await end_inbound_call(state, call, "failed")
    else:
        call.set_status("in-progress")
        await _end_when_twiml_runs_out(state, call, reply.body or "")
    return record


async def _end_when_twiml_runs_out(state: SimState, call: CallRecord, twiml: str) -> None:
    """Twilio ends a call when its TwiML runs out; Gather, Record and Redirect lead on."""
    verbs = {element.tag for element in ET.fromstring(twiml)}  # noqa: S314 - checked above
    if verbs & {"Gather", "Record", "Redirect"}:
        return
    await end_inbound_call(state, call, "busy" if "Reject" in verbs else "completed")


async def end_inbound_call(state: SimState, call: CallRecord, status: str) -> None:
    """The call ends; its number's status callback (when given) hears how, signed."""
    if call.status in TERMINAL_CALL_STATUSES:
        return
    call.end_time = utcnow()
    call.duration = (
        0
        if status != "completed"
        else max(1, int((call.end_time - call.date_created).total_seconds()))
    )
    call.set_status(status)
    if call.status_callback is None:
        return
    params = call_params(call, status)
    params.update(
        {"CallDuration": str(call.duration), "Timestamp": rfc2822(call.end_time) or "",
         "CallbackSource": "call-progress-events", "SequenceNumber": "0"}
    )  # fmt: skip
    twiml = call.twiml_record
    if status == "failed" and twiml is not None and twiml.error_code is not None:
        params.update(ErrorCode=str(twiml.error_code), ErrorMessage=twiml.error or "")
    reply = await state.webhooks.request(call.status_callback, call.status_callback_method, params)
    call.callbacks.append(reply.as_callback())


async def inbound_hangup(state: SimState, payload: object) -> InboundRecord:
    """The caller hangs up: the call completes and its status callback, if any, is sent."""
    data = _object(payload)
    call_sid = _text(data, "call_sid")
    call = state.store.calls.get(call_sid)
    if call is None:
        raise UnknownCallError(call_sid)
    await end_inbound_call(state, call, "completed")
    callback = call.callbacks[-1] if call.callbacks else None
    return InboundRecord(
        kind="hangup",
        url=call.status_callback or "",
        method=call.status_callback_method,
        params=dict(callback.params) if callback else {},
        signature=callback.signature if callback else "",
        status=callback.status if callback else None,
        content_type=None,
        body=None,
        error=callback.error if callback else None,
        sid=call_sid,
    )


def _answer_record(reply: WebhookReply) -> TwimlRecord:
    record = TwimlRecord(
        source="url",
        url=reply.url,
        method=reply.method,
        params=dict(reply.params),
        signature=reply.signature,
        http_status=reply.status,
        twiml=reply.body,
    )
    if reply.status is None or not 200 <= reply.status < 300:
        record.error_code = 11200
        record.error = reply.error or f"the voice URL answered HTTP {reply.status}"
        return record
    try:
        check_twiml(reply.body or "")
    except TwimlDocumentError as error:
        record.error_code = DOCUMENT_PARSE_FAILURE
        record.error = str(error)
    return record


async def inbound_digits(state: SimState, payload: object) -> InboundRecord:
    """A Gather follow-up: the call's own parameters plus the keys the caller pressed."""
    data = _object(payload)
    url = _url(data)
    call_sid = _text(data, "call_sid")
    call = state.store.calls.get(call_sid)
    if call is None:
        raise UnknownCallError(call_sid)
    params = call_params(call, "in-progress")
    params["Digits"] = _text(data, "digits")
    params.update(_extra(data))
    reply = await state.webhooks.request(url, _method(data), params)
    record = _record(state, "digits", reply, call_sid)
    answer = _answer_record(reply)
    if answer.error_code is None and call.status not in TERMINAL_CALL_STATUSES:
        await _end_when_twiml_runs_out(state, call, reply.body or "")
    return record


def _signing(data: dict[str, Any]) -> Signing | None:
    """``signing``: a shared key (``key_id``, ``secret``, ``algorithm``), else the default."""
    spec = data.get("signing")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise InboundSpecError("'signing' must be an object with key_id, secret and algorithm")
    algorithm = str(spec.get("algorithm", HMAC_SHA256))
    if algorithm not in (HMAC_SHA1, HMAC_SHA256):
        raise InboundSpecError(f"'algorithm' must be {HMAC_SHA1} or {HMAC_SHA256}")
    return Signing.shared_key(_text(spec, "key_id"), _text(spec, "secret"), algorithm)


def _headers(data: dict[str, Any]) -> dict[str, str]:
    headers = data.get("headers", {})
    if not isinstance(headers, dict):
        raise InboundSpecError("'headers' must be an object of strings")
    return {str(name): str(value) for name, value in headers.items()}


def _json_body(data: dict[str, Any]) -> str | None:
    if "json" not in data:
        return None
    return json.dumps(data["json"])


async def generic_webhook(state: SimState, payload: object) -> InboundRecord:
    """Any signed request: form ``params`` or a ``json`` body, extra ``headers``, and a
    ``signing`` other than the simulator's own (to play a webhook rule's shared key)."""
    data = _object(payload)
    url = _url(data)
    reply = await state.webhooks.request(
        url,
        _method(data),
        _extra(data),
        json_body=_json_body(data),
        headers=_headers(data),
        signing=_signing(data),
    )
    sid = reply.params.get("CallSid") or reply.params.get("MessageSid")
    return _record(state, "webhook", reply, sid)
