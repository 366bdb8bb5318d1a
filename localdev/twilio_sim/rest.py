"""Twilio's REST surface: create, fetch, list and delete Messages and Calls under one account,
and fetch and delete Recordings.

A DELETE answers 204 with no body; an unknown SID is 404 (20404); a message or call that is
not final yet is refused with 20009, as Twilio does, and may be deleted once it is. Deleting
a message deletes its media with it; a call's recordings are resources of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from localdev.twilio_sim.faults import ERROR_FAULTS, FaultRule
from localdev.twilio_sim.lifecycle import run_call, run_message
from localdev.twilio_sim.resources import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    account_path,
    call_json,
    list_page,
    message_json,
    new_sid,
    num_segments,
    recording_json,
)
from localdev.twilio_sim.state import STATE, SimState
from localdev.twilio_sim.store import CallRecord, MessageRecord, RecordingRecord
from localdev.twilio_sim.validation import (
    FormParams,
    TwilioApiError,
    first,
    validate_call,
    validate_message,
)

PARAMS = web.RequestKey("twilio_sim.params", dict[str, list[str]])
REST_PREFIX = "/2010-04-01/"


def request_params(request: web.Request) -> FormParams:
    params: FormParams = request.get(PARAMS, {})
    return params


def twilio_error_response(error: TwilioApiError) -> web.Response:
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None
    return web.json_response(error.body(), status=error.status, headers=headers)


def not_found(path: str) -> TwilioApiError:
    return TwilioApiError(20404, f"The requested resource {path} was not found", status=404)


async def _fault_before_create(state: SimState, fault: FaultRule | None) -> None:
    if fault is None or fault.kind == "created_then_500":
        return
    if fault.kind == "timeout":
        await asyncio.sleep(state.config.slow_seconds)
        return
    status, code, message = ERROR_FAULTS[fault.kind]
    raise TwilioApiError(code, message, status=status)


def _fault_after_create(fault: FaultRule | None) -> None:
    if fault is not None and fault.kind == "created_then_500":
        status, code, message = ERROR_FAULTS[fault.kind]
        raise TwilioApiError(code, message, status=status)


async def create_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    params = request_params(request)
    fault = state.faults.pick("messages", first(params, "To"))
    await _fault_before_create(state, fault)
    spec = validate_message(params)
    message = MessageRecord(
        sid=new_sid("MM" if spec.media_urls else "SM", state.rng),
        account_sid=state.config.account_sid,
        to=spec.to,
        from_=spec.from_,
        body=spec.body,
        media_urls=spec.media_urls,
        messaging_service_sid=spec.messaging_service_sid,
        status="queued" if spec.from_ is not None else "accepted",
        num_segments=num_segments(spec.body),
        status_callback=spec.status_callback,
    )
    state.store.messages[message.sid] = message
    state.tasks.spawn(run_message(state, message, state.behaviour), f"message {message.sid}")
    _fault_after_create(fault)
    return web.json_response(message_json(message), status=201)


async def create_call(request: web.Request) -> web.Response:
    state = request.app[STATE]
    params = request_params(request)
    fault = state.faults.pick("calls", first(params, "To"))
    await _fault_before_create(state, fault)
    spec = validate_call(params)
    call = CallRecord(
        sid=new_sid("CA", state.rng),
        account_sid=state.config.account_sid,
        to=spec.to,
        from_=spec.from_,
        status="queued",
        url=spec.url,
        method=spec.method,
        twiml=spec.twiml,
        status_callback=spec.status_callback,
        status_callback_method=spec.status_callback_method,
        status_callback_events=spec.status_callback_events,
    )
    state.store.calls[call.sid] = call
    state.tasks.spawn(run_call(state, call, state.behaviour), f"call {call.sid}")
    _fault_after_create(fault)
    return web.json_response(call_json(call), status=201)


async def fetch_message(request: web.Request) -> web.Response:
    message = request.app[STATE].store.messages.get(request.match_info["sid"])
    if message is None:
        raise not_found(request.path)
    return web.json_response(message_json(message))


async def fetch_call(request: web.Request) -> web.Response:
    call = request.app[STATE].store.calls.get(request.match_info["sid"])
    if call is None:
        raise not_found(request.path)
    return web.json_response(call_json(call))


# Twilio refuses to delete a message still on its way or a call still going on.
NOT_FINAL_MESSAGE = frozenset({"accepted", "scheduled", "queued", "sending", "receiving"})
NOT_FINAL_CALL = frozenset({"queued", "initiated", "ringing", "in-progress"})
NOT_FINAL_CODE = 20009


def _not_final(what: str, status: str) -> TwilioApiError:
    return TwilioApiError(
        NOT_FINAL_CODE,
        f"Unable to delete record: cannot delete a {what} while its status is {status}",
        status=409,
    )


async def delete_message(request: web.Request) -> web.Response:
    messages = request.app[STATE].store.messages
    message = messages.get(request.match_info["sid"])
    if message is None:
        raise not_found(request.path)
    if message.status in NOT_FINAL_MESSAGE:
        raise _not_final("message", message.status)
    del messages[message.sid]
    return web.Response(status=204)


async def delete_call(request: web.Request) -> web.Response:
    calls = request.app[STATE].store.calls
    call = calls.get(request.match_info["sid"])
    if call is None:
        raise not_found(request.path)
    if call.status in NOT_FINAL_CALL:
        raise _not_final("call", call.status)
    del calls[call.sid]
    return web.Response(status=204)


def _recording(request: web.Request) -> RecordingRecord:
    recording = request.app[STATE].store.recordings.get(request.match_info["sid"])
    call_sid = request.match_info.get("call_sid")
    if recording is None or (call_sid is not None and recording.call_sid != call_sid):
        raise not_found(request.path)
    return recording


async def fetch_recording(request: web.Request) -> web.Response:
    return web.json_response(recording_json(_recording(request)))


async def delete_recording(request: web.Request) -> web.Response:
    recording = _recording(request)
    del request.app[STATE].store.recordings[recording.sid]
    return web.Response(status=204)


def _parse_when(name: str, raw: str) -> date | datetime:
    try:
        if len(raw) == 10:
            return date.fromisoformat(raw)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise TwilioApiError(20001, f"Invalid {name} value {raw!r}: expected an ISO date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _on_or(compare: Callable[[Any, Any], bool], bound: date | datetime, when: datetime) -> bool:
    if isinstance(bound, datetime):
        return compare(when, bound)
    return compare(when.date(), bound)


def _date_sent_matches(query: dict[str, str], sent: datetime | None) -> bool:
    checks: list[tuple[str, Callable[[Any, Any], bool]]] = [
        ("DateSent", lambda a, b: a == b),
        ("DateSent<", lambda a, b: a <= b),
        ("DateSent>", lambda a, b: a >= b),
    ]
    for name, compare in checks:
        raw = query.get(name)
        if raw is None:
            continue
        if sent is None:
            return False
        bound = _parse_when(name, raw)
        if name == "DateSent" and isinstance(bound, datetime):
            bound = bound.date()
        if not _on_or(compare, bound, sent):
            return False
    return True


def _paging(query: dict[str, str]) -> tuple[int, int]:
    try:
        page_size = int(query.get("PageSize", DEFAULT_PAGE_SIZE))
        page = int(query.get("Page", 0))
    except ValueError:
        raise TwilioApiError(20001, "PageSize and Page must be integers") from None
    if not 1 <= page_size <= MAX_PAGE_SIZE or page < 0:
        raise TwilioApiError(20001, f"PageSize must be 1..{MAX_PAGE_SIZE} and Page >= 0")
    return page, page_size


def _filters(query: dict[str, str], names: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(name, query[name]) for name in names if name in query]


async def list_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = dict(request.query)
    page, page_size = _paging(query)
    matches = [
        message_json(message)
        for message in reversed(state.store.messages.values())
        if query.get("To", message.to) == message.to
        and query.get("From", message.from_) == message.from_
        and _date_sent_matches(query, message.date_sent)
    ]
    path = f"{account_path(state.config.account_sid)}/Messages.json"
    filters = _filters(query, ("To", "From", "DateSent", "DateSent<", "DateSent>"))
    body = list_page(
        "messages", matches, path=path, filters=filters, page=page, page_size=page_size
    )
    return web.json_response(body)


async def list_calls(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = dict(request.query)
    page, page_size = _paging(query)
    matches = [
        call_json(call)
        for call in reversed(state.store.calls.values())
        if query.get("To", call.to) == call.to
        and query.get("From", call.from_) == call.from_
        and query.get("Status", call.status) == call.status
    ]
    path = f"{account_path(state.config.account_sid)}/Calls.json"
    filters = _filters(query, ("To", "From", "Status"))
    body = list_page("calls", matches, path=path, filters=filters, page=page, page_size=page_size)
    return web.json_response(body)


def add_rest_routes(app: web.Application) -> None:
    base = "/2010-04-01/Accounts/{account_sid}"
    app.router.add_post(f"{base}/Messages.json", create_message)
    app.router.add_get(f"{base}/Messages.json", list_messages)
    app.router.add_get(f"{base}/Messages/{{sid}}.json", fetch_message)
    app.router.add_post(f"{base}/Calls.json", create_call)
    app.router.add_get(f"{base}/Calls.json", list_calls)
    app.router.add_get(f"{base}/Calls/{{sid}}.json", fetch_call)
    app.router.add_delete(f"{base}/Messages/{{sid}}.json", delete_message)
    app.router.add_delete(f"{base}/Calls/{{sid}}.json", delete_call)
    app.router.add_get(f"{base}/Recordings/{{sid}}.json", fetch_recording)
    app.router.add_delete(f"{base}/Recordings/{{sid}}.json", delete_recording)
    app.router.add_get(f"{base}/Calls/{{call_sid}}/Recordings/{{sid}}.json", fetch_recording)
    app.router.add_delete(f"{base}/Calls/{{call_sid}}/Recordings/{{sid}}.json", delete_recording)
