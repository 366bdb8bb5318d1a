"""The /_sim endpoints: inspect what happened, steer faults and behaviour, play the other side."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from localdev.twilio_sim.faults import FaultSpecError, parse_rules
from localdev.twilio_sim.inbound import (
    InboundSpecError,
    UnknownCallError,
    generic_webhook,
    inbound_call,
    inbound_digits,
    inbound_hangup,
    inbound_sms,
)
from localdev.twilio_sim.resources import (
    call_inspection,
    message_inspection,
    new_sid,
    recording_json,
)
from localdev.twilio_sim.state import STATE, BehaviourSpecError, SimState
from localdev.twilio_sim.store import InboundRecord, RecordingRecord

log = logging.getLogger(__name__)

InboundAction = Callable[[SimState, object], Awaitable[InboundRecord]]


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except json.JSONDecodeError as error:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"body is not JSON: {error}"}),
            content_type="application/json",
        ) from None


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"status": "ok", "account_sid": state.config.account_sid})


async def list_sim_messages(request: web.Request) -> web.Response:
    messages = request.app[STATE].store.messages.values()
    return web.json_response({"messages": [message_inspection(m) for m in messages]})


async def get_sim_message(request: web.Request) -> web.Response:
    message = request.app[STATE].store.messages.get(request.match_info["sid"])
    if message is None:
        return web.json_response({"error": "no such message"}, status=404)
    return web.json_response(message_inspection(message))


async def list_sim_calls(request: web.Request) -> web.Response:
    calls = request.app[STATE].store.calls.values()
    return web.json_response({"calls": [call_inspection(c) for c in calls]})


async def get_sim_call(request: web.Request) -> web.Response:
    call = request.app[STATE].store.calls.get(request.match_info["sid"])
    if call is None:
        return web.json_response({"error": "no such call"}, status=404)
    return web.json_response(call_inspection(call))


async def list_requests(request: web.Request) -> web.Response:
    records = request.app[STATE].store.requests
    return web.json_response({"requests": [record.to_json() for record in records]})


async def list_inbound(request: web.Request) -> web.Response:
    records = request.app[STATE].store.inbound
    return web.json_response({"inbound": [record.to_json() for record in records]})


async def reset(request: web.Request) -> web.Response:
    await request.app[STATE].reset()
    return web.json_response({"reset": True})


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].faults.to_json())


async def set_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        rules = parse_rules(await _json_body(request))
    except FaultSpecError as error:
        return _bad_request(str(error))
    state.faults.replace(rules)
    log.info("fault rules replaced: %s", state.faults.to_json())
    return web.json_response(state.faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.faults.clear()
    return web.json_response(state.faults.to_json())


async def get_behaviour(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].behaviour.to_json())


async def set_behaviour(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        state.behaviour = state.behaviour.updated(await _json_body(request))
    except BehaviourSpecError as error:
        return _bad_request(str(error))
    return web.json_response(state.behaviour.to_json())


async def wait_idle(request: web.Request) -> web.Response:
    try:
        timeout = float(request.query.get("timeout", "10"))
    except ValueError:
        return _bad_request("timeout must be a number of seconds")
    idle = await request.app[STATE].tasks.wait_idle(timeout)
    return web.json_response({"idle": idle}, status=200 if idle else 504)


def _inbound_handler(action: InboundAction) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        state = request.app[STATE]
        try:
            record = await action(state, await _json_body(request))
        except InboundSpecError as error:
            return _bad_request(str(error))
        except UnknownCallError as error:
            return web.json_response({"error": f"no call {error}"}, status=404)
        body: dict[str, Any] = record.to_json()
        return web.json_response(body, status=502 if record.error is not None else 200)

    return handler


async def add_recording(request: web.Request) -> web.Response:
    """Plays a caller who left a voicemail on a call: the recording Twilio would keep."""
    state = request.app[STATE]
    payload = await _json_body(request)
    call_sid = payload.get("call_sid") if isinstance(payload, dict) else None
    if not isinstance(call_sid, str) or call_sid not in state.store.calls:
        return web.json_response({"error": "'call_sid' must name a call"}, status=400)
    recording = RecordingRecord(new_sid("RE", state.rng), state.config.account_sid, call_sid)
    state.store.recordings[recording.sid] = recording
    return web.json_response(recording_json(recording), status=201)


async def list_sim_recordings(request: web.Request) -> web.Response:
    recordings = request.app[STATE].store.recordings.values()
    return web.json_response([recording_json(recording) for recording in recordings])


def add_control_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/_sim/health", health)
    router.add_get("/_sim/messages", list_sim_messages)
    router.add_get("/_sim/messages/{sid}", get_sim_message)
    router.add_get("/_sim/calls", list_sim_calls)
    router.add_get("/_sim/calls/{sid}", get_sim_call)
    router.add_get("/_sim/requests", list_requests)
    router.add_get("/_sim/recordings", list_sim_recordings)
    router.add_post("/_sim/recordings", add_recording)
    router.add_get("/_sim/inbound", list_inbound)
    router.add_post("/_sim/reset", reset)
    router.add_get("/_sim/faults", get_faults)
    router.add_post("/_sim/faults", set_faults)
    router.add_delete("/_sim/faults", clear_faults)
    router.add_get("/_sim/behaviour", get_behaviour)
    router.add_post("/_sim/behaviour", set_behaviour)
    router.add_get("/_sim/idle", wait_idle)
    router.add_post("/_sim/inbound/sms", _inbound_handler(inbound_sms))
    router.add_post("/_sim/inbound/call", _inbound_handler(inbound_call))
    router.add_post("/_sim/inbound/digits", _inbound_handler(inbound_digits))
    router.add_post("/_sim/inbound/hangup", _inbound_handler(inbound_hangup))
    router.add_post("/_sim/webhook", _inbound_handler(generic_webhook))
