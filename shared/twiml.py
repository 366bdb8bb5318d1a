"""TwiML, built only with ``twilio.twiml``: no XML by hand.

Every verb the gateway answers with is reachable from here: Say, Play, Dial, Gather, Record,
Redirect, Hangup, Reject for voice and Message for messaging. The inbound behaviour
is chosen by settings, so changing what a caller hears is configuration, not code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from shared.settings import Settings

VOICE_MENU_PATH = "/api/twilio/voice/menu"
VOICEMAIL_DONE_PATH = "/api/twilio/voice/recorded"
DEFAULT_GREETING = "Thank you for calling."
DEFAULT_MENU_PROMPT = "Please choose an option."
VOICEMAIL_PROMPT = "Please leave a message after the tone."
VOICEMAIL_MAX_SECONDS = 120


def _speech(settings: Settings | None = None, **extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if settings is not None and settings.voice_voice:
        options["voice"] = settings.voice_voice
    if settings is not None and settings.voice_language:
        options["language"] = settings.voice_language
    options.update({key: value for key, value in extra.items() if value})
    return options


def empty_messaging() -> str:
    return str(MessagingResponse())


def message_reply(text: str) -> str:
    response = MessagingResponse()
    response.message(text)
    return str(response)


def say_response(text: str, *, voice: str | None = None, language: str | None = None) -> str:
    response = VoiceResponse()
    response.say(text, **_speech(voice=voice, language=language))
    return str(response)


def twimlet_message(
    messages: Sequence[str], *, voice: str | None = None, language: str | None = None
) -> str:
    """The ``message`` twimlet's contract: URLs are played, everything else is spoken."""
    response = VoiceResponse()
    for text in messages:
        if text.startswith("http"):
            response.play(text)
        else:
            response.say(text, **_speech(voice=voice, language=language))
    return str(response)


def twimlet_messages_from(params: Mapping[str, str]) -> list[str]:
    """``Message`` or ``Message[0]``, ``Message[1]``...; indexed entries in index order."""
    indexed: list[tuple[int, str]] = []
    for key, value in params.items():
        if key.startswith("Message[") and key.endswith("]"):
            index = key[len("Message[") : -1]
            if index.isascii() and index.isdigit() and len(index) <= 9:
                indexed.append((int(index), value))
    messages = [value for _, value in sorted(indexed)]
    if "Message" in params:
        messages.insert(0, params["Message"])
    return [message for message in messages if message.strip()]


def _voicemail(response: VoiceResponse, settings: Settings) -> None:
    response.say(VOICEMAIL_PROMPT, **_speech(settings))
    response.record(
        max_length=VOICEMAIL_MAX_SECONDS,
        play_beep=True,
        action=VOICEMAIL_DONE_PATH,
        method="POST",
    )
    response.hangup()


def _menu(response: VoiceResponse, settings: Settings) -> None:
    gather: Gather = response.gather(num_digits=1, action=VOICE_MENU_PATH, method="POST")
    gather.say(settings.voice_menu_prompt or DEFAULT_MENU_PROMPT, **_speech(settings))
    response.say("We did not receive a choice. Goodbye.", **_speech(settings))
    response.hangup()


def inbound_call(settings: Settings) -> str:
    response = VoiceResponse()
    if settings.voice_mode == "reject":
        response.reject(reason="busy")
        return str(response)
    greeting = settings.voice_greeting
    if greeting is None and settings.voice_mode == "greeting":
        greeting = DEFAULT_GREETING
    if greeting:
        response.say(greeting, **_speech(settings))
    if settings.voice_mode == "forward" and settings.voice_forward_to:
        response.dial(settings.voice_forward_to)
    elif settings.voice_mode == "voicemail":
        _voicemail(response, settings)
    elif settings.voice_mode == "menu":
        _menu(response, settings)
    else:
        response.hangup()
    return str(response)


def menu_choice(settings: Settings, digits: str) -> str:
    response = VoiceResponse()
    option = settings.voice_menu.get(digits)
    if option is None:
        response.say("Sorry, that is not an option.", **_speech(settings))
        response.redirect(VOICE_MENU_PATH.rsplit("/", 1)[0], method="POST")
    elif option.forward_to:
        response.dial(option.forward_to)
    elif option.voicemail:
        _voicemail(response, settings)
    else:
        response.say(option.say or "", **_speech(settings))
        response.hangup()
    return str(response)


def voicemail_done(settings: Settings) -> str:
    response = VoiceResponse()
    response.say("Thank you. Goodbye.", **_speech(settings))
    response.hangup()
    return str(response)
