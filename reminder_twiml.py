"""An example of your own TwiML endpoint: an appointment reminder call, with a key-press menu.

Copy this file to build yours. Place the call with
``POST /api/calls {"to": "+1...", "url": "https://<app>/api/twiml/reminder?When=Monday at 10"}``;
Twilio fetches this route (signed), speaks, waits for a key and posts it to ``.../choice``.
``/api/preview/twiml/reminder?code=<function key>&When=...`` shows the same TwiML in a browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import azure.functions as func

from shared.handlers import twiml_endpoint
from shared.platform.settings import Settings
from shared.twilio.twiml import Speech, VoiceScript

bp = func.Blueprint()  # type: ignore[no-untyped-call]

CHOICE_PATH = "/api/twiml/reminder/choice"
MAX_SPOKEN = 200
HOLD_MUSIC = "https://api.twilio.com/cowbell.mp3"


def _spoken(params: Mapping[str, str], name: str, default: str) -> str:
    return params.get(name, "").strip()[:MAX_SPOKEN] or default


def reminder(params: Mapping[str, str], settings: Settings) -> str:
    when = _spoken(params, "When", "tomorrow")
    script = VoiceScript(Speech.of(settings))
    script.say(f"Hello. This is a reminder of your appointment {when}.").pause(1)
    choice_url = f"{CHOICE_PATH}?{urlencode({'When': when})}"
    script.gather("Press 1 to confirm. Press 2 to speak to us.", choice_url, timeout=5)
    return script.say("We did not hear a choice. Goodbye.").hangup().xml()


def choice(params: Mapping[str, str], settings: Settings) -> str:
    script = VoiceScript(Speech.of(settings))
    digits = params.get("Digits", "")
    if digits == "1":
        return script.say("Thank you, your appointment is confirmed. Goodbye.").hangup().xml()
    if digits == "2" and settings.voice_forward_to:
        script.say("Connecting you now.").play(HOLD_MUSIC)
        return script.dial(settings.voice_forward_to).xml()
    again = f"/api/twiml/reminder?{urlencode({'When': _spoken(params, 'When', 'tomorrow')})}"
    return script.say("Sorry, that is not an option.").redirect(again).xml()


@bp.route(route="twiml/reminder", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def reminder_twiml(req: func.HttpRequest) -> func.HttpResponse:
    return twiml_endpoint.signed(req, reminder)


@bp.route(route="twiml/reminder/choice", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def reminder_choice_twiml(req: func.HttpRequest) -> func.HttpResponse:
    return twiml_endpoint.signed(req, choice)


@bp.route(route="preview/twiml/reminder", methods=["GET", "POST"])
async def reminder_twiml_preview(req: func.HttpRequest) -> func.HttpResponse:
    return twiml_endpoint.preview(req, reminder)
