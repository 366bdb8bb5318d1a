"""TwiML, built only with ``twilio.twiml``: no XML by hand.

Every verb of Azure's Twilio how-to is reachable from here: ``VoiceScript`` chains Say, Play,
Pause, Gather, Dial, Record, Redirect, Hangup, Reject and Sms with this gateway's voice and
language, and ``message_reply`` answers a text with ``<Message>``. Your own TwiML endpoint
builds its answer with them (see ``reminder_twiml.py``). The inbound behaviour is chosen by
settings, so changing what a caller hears, in any language, is configuration, not code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from shared.platform.settings import Settings

VOICE_MENU_PATH = "/api/twilio/voice/menu"
VOICEMAIL_DONE_PATH = "/api/twilio/voice/recorded"
DEFAULT_GREETING = "Thank you for calling."
DEFAULT_MENU_PROMPT = "Please choose an option."
VOICEMAIL_PROMPT = "Please leave a message after the tone."
NO_CHOICE = "We did not receive a choice. Goodbye."
INVALID_CHOICE = "Sorry, that is not an option."
GOODBYE = "Thank you. Goodbye."
VOICEMAIL_MAX_SECONDS = 120


@dataclass(frozen=True)
class Speech:
    """How ``<Say>`` speaks: a Twilio voice (``Polly.Seoyeon``, ``Google.ko-KR-Standard-A``,
    ``alice``...) and a language tag (``ko-KR``); None leaves Twilio's default."""

    voice: str | None = None
    language: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> Speech:
        return cls(settings.voice_voice, settings.voice_language)

    def attributes(self) -> dict[str, str]:
        options = {"voice": self.voice, "language": self.language}
        return {key: value for key, value in options.items() if value}


class VoiceScript:
    """A call's TwiML, one verb per method, each returning the script so calls chain.

    ``script.say("Hello").pause(1).play(url).hangup().xml()``; ``<Say>`` uses ``speech``
    unless a call passes its own. ``response`` is the underlying ``VoiceResponse`` for any
    attribute or noun these methods do not cover.
    """

    def __init__(self, speech: Speech | None = None) -> None:
        self.speech = speech or Speech()
        self.response = VoiceResponse()

    def say(self, text: str, speech: Speech | None = None) -> VoiceScript:
        self.response.say(text, **(speech or self.speech).attributes())
        return self

    def play(self, url: str, loop: int | None = None) -> VoiceScript:
        self.response.play(url, loop=loop)
        return self

    def pause(self, seconds: int = 1) -> VoiceScript:
        self.response.pause(length=seconds)
        return self

    def gather(
        self,
        prompt: str | None,
        action: str,
        *,
        num_digits: int | None = 1,
        timeout: int | None = None,
        play: str | None = None,
    ) -> VoiceScript:
        """Ask for key presses; Twilio posts ``Digits`` to ``action``. Verbs after the
        gather run only when the caller pressed nothing."""
        gather: Gather = self.response.gather(
            num_digits=num_digits, action=action, method="POST", timeout=timeout
        )
        if prompt:
            gather.say(prompt, **self.speech.attributes())
        if play:
            gather.play(play)
        return self

    def dial(
        self, number: str, *, caller_id: str | None = None, timeout: int | None = None
    ) -> VoiceScript:
        self.response.dial(number, caller_id=caller_id, timeout=timeout)
        return self

    def record(
        self, action: str, *, max_seconds: int = VOICEMAIL_MAX_SECONDS, beep: bool = True
    ) -> VoiceScript:
        """Record the caller; Twilio posts ``RecordingUrl`` to ``action`` when done."""
        self.response.record(max_length=max_seconds, play_beep=beep, action=action, method="POST")
        return self

    def redirect(self, url: str) -> VoiceScript:
        self.response.redirect(url, method="POST")
        return self

    def sms(self, body: str, to: str | None = None) -> VoiceScript:
        """The how-to's ``<Sms>`` during a call (Twilio has retired it for new accounts:
        send with ``POST /api/messages`` instead, which also logs it)."""
        self.response.sms(body, to=to)
        return self

    def hangup(self) -> VoiceScript:
        self.response.hangup()
        return self

    def reject(self, reason: Literal["busy", "rejected"] = "busy") -> VoiceScript:
        self.response.reject(reason=reason)
        return self

    def xml(self) -> str:
        return str(self.response)


def empty_messaging() -> str:
    return str(MessagingResponse())


def message_reply(text: str, media_urls: Sequence[str] = ()) -> str:
    """A text answer (``<Message>``), with pictures when ``media_urls`` are given."""
    response = MessagingResponse()
    message = response.message(text)
    for url in media_urls:
        message.media(url)
    return str(response)


def say_response(text: str, *, voice: str | None = None, language: str | None = None) -> str:
    return VoiceScript(Speech(voice, language)).say(text).xml()


def twimlet_message(
    messages: Sequence[str], *, voice: str | None = None, language: str | None = None
) -> str:
    """The ``message`` twimlet's contract: URLs are played, everything else is spoken."""
    script = VoiceScript(Speech(voice, language))
    for text in messages:
        if text.startswith("http"):
            script.play(text)
        else:
            script.say(text)
    return script.xml()


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


def twimlet_from_params(params: Mapping[str, str], settings: Settings) -> str:
    """``/api/twiml/message``: the twimlet's parameters in; ``Voice`` and ``Language``
    default to ``VOICE_VOICE`` and ``VOICE_LANGUAGE``."""
    return twimlet_message(
        twimlet_messages_from(params),
        voice=params.get("Voice") or settings.voice_voice,
        language=params.get("Language") or settings.voice_language,
    )


def _voicemail(script: VoiceScript, settings: Settings) -> None:
    script.say(settings.voice_voicemail_prompt or VOICEMAIL_PROMPT)
    script.record(VOICEMAIL_DONE_PATH).hangup()


def inbound_call(settings: Settings) -> str:
    """What a caller hears: the greeting (``VOICE_GREETING``; in ``greeting`` mode the
    default one when unset), then the mode's verb. ``reject`` answers nothing at all."""
    script = VoiceScript(Speech.of(settings))
    if settings.voice_mode == "reject":
        return script.reject().xml()
    greeting = settings.voice_greeting
    if greeting is None and settings.voice_mode == "greeting":
        greeting = DEFAULT_GREETING
    if greeting:
        script.say(greeting)
    if settings.voice_mode == "forward" and settings.voice_forward_to:
        script.dial(settings.voice_forward_to)
    elif settings.voice_mode == "voicemail":
        _voicemail(script, settings)
    elif settings.voice_mode == "menu":
        script.gather(settings.voice_menu_prompt or DEFAULT_MENU_PROMPT, VOICE_MENU_PATH)
        script.say(settings.voice_no_choice or NO_CHOICE).hangup()
    else:
        script.hangup()
    return script.xml()


def menu_choice(settings: Settings, digits: str) -> str:
    script = VoiceScript(Speech.of(settings))
    option = settings.voice_menu.get(digits)
    if option is None:
        script.say(settings.voice_invalid_choice or INVALID_CHOICE)
        script.redirect(VOICE_MENU_PATH.rsplit("/", 1)[0])
    elif option.forward_to:
        script.dial(option.forward_to)
    elif option.voicemail:
        _voicemail(script, settings)
    else:
        script.say(option.say or "").hangup()
    return script.xml()


def voicemail_done(settings: Settings) -> str:
    return VoiceScript(Speech.of(settings)).say(settings.voice_goodbye or GOODBYE).hangup().xml()
