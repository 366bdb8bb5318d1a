"""Assembles the simulator: Twilio's REST routes behind auth and a request log, plus /_sim."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from localdev.twilio_sim.auth import authenticate, basic_user
from localdev.twilio_sim.config import SimConfig
from localdev.twilio_sim.control import add_control_routes
from localdev.twilio_sim.rest import (
    PARAMS,
    REST_PREFIX,
    add_rest_routes,
    not_found,
    twilio_error_response,
)
from localdev.twilio_sim.state import STATE, SimState
from localdev.twilio_sim.store import RequestRecord
from localdev.twilio_sim.validation import FormParams, TwilioApiError

log = logging.getLogger(__name__)


async def _form_params(request: web.Request) -> FormParams:
    if request.method != "POST":
        return {}
    form = await request.post()
    params: FormParams = {}
    for key in form:
        if key not in params:
            params[key] = [value for value in form.getall(key) if isinstance(value, str)]
    return params


def _flatten(params: FormParams) -> dict[str, str | list[str]]:
    return {key: values[0] if len(values) == 1 else values for key, values in params.items()}


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        authenticate(request.app[STATE].config, request)
        return await handler(request)
    except TwilioApiError as error:
        return twilio_error_response(error)
    except web.HTTPNotFound:
        return twilio_error_response(not_found(request.path))
    except web.HTTPMethodNotAllowed:
        return twilio_error_response(
            TwilioApiError(20004, f"Method {request.method} not allowed", status=405)
        )


@web.middleware
async def rest_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers every REST path in Twilio's error shape and logs it for /_sim/requests."""
    if not request.path.startswith(REST_PREFIX):
        return await handler(request)
    params = await _form_params(request)
    request[PARAMS] = params
    response = await _answer(request, handler)
    credentials = basic_user(request)
    request.app[STATE].store.requests.append(
        RequestRecord(
            method=request.method,
            path=request.path,
            query=_flatten({key: request.query.getall(key) for key in request.query}),
            params=_flatten(params),
            auth_user=None if credentials is None else credentials.login,
            status=response.status,
        )
    )
    return response


def create_app(config: SimConfig | None = None) -> web.Application:
    state = SimState(config or SimConfig.from_env())
    app = web.Application(middlewares=[rest_middleware])
    app[STATE] = state

    async def start_state(_: web.Application) -> None:
        await state.start()

    async def stop_state(_: web.Application) -> None:
        await state.stop()

    app.on_startup.append(start_state)
    app.on_cleanup.append(stop_state)
    add_rest_routes(app)
    add_control_routes(app)
    return app
