"""Serving TwiML from your own function: Twilio's signature checked, parameters in, XML out.

The same builder also answers a preview route behind the function key, so a person can open
the URL in a browser and read exactly what Twilio would get, while the Twilio-facing route
keeps refusing anything unsigned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import azure.functions as func

from shared.platform.errors import MisconfiguredError
from shared.platform.http import forbidden, form_params, misconfigured, twiml_response
from shared.platform.settings import Settings, get_settings
from shared.twilio.signatures import refusal

TwimlBuilder = Callable[[Mapping[str, str], Settings], str]
_NOT_PARAMETERS = frozenset({"code"})


def twiml_params(req: func.HttpRequest) -> dict[str, str]:
    """Query and form parameters, the first value of each, form winning (Twilio's POST)."""
    merged = {key: value for key, value in req.params.items() if key not in _NOT_PARAMETERS}
    merged.update({key: values[0] for key, values in form_params(req).items() if values})
    return merged


def signed(req: func.HttpRequest, build: TwimlBuilder) -> func.HttpResponse:
    """For Twilio: 403 with the reason unless the request carries Twilio's signature."""
    settings = get_settings()
    try:
        settings.require("twilio")
    except MisconfiguredError as exc:
        return misconfigured(exc)
    reason = refusal(req, settings)
    if reason is not None:
        return forbidden(reason)
    return twiml_response(build(twiml_params(req), settings))


def preview(req: func.HttpRequest, build: TwimlBuilder) -> func.HttpResponse:
    """For people, behind the function key: the same TwiML, no signature needed."""
    return twiml_response(build(twiml_params(req), get_settings()))
