"""Every setting, read once from the environment into a frozen object.

App settings in Azure and ``local.settings.json`` locally both arrive as environment variables.
A setting that a code path needs but is missing fails with an error naming it, so a
misconfigured deployment says what to fix instead of failing somewhere downstream.

Settings come in groups (storage, twilio, voice, events). A bad setting is reported once, when the
settings are read, and only the functions that need its group refuse: a typo in ``VOICE_MENU``
must not stop text messages from going out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit

from shared.platform import logs
from shared.platform.errors import (
    InvalidSettingError,
    MisconfiguredError,
    MissingSettingError,
)
from shared.platform.event_settings import EventSettings, load_event_settings
from shared.platform.json_text import InvalidJsonError, parse_json
from shared.platform.setting_values import flag, positive_number, text
from shared.platform.storage_connection import StorageConnection, load_storage_connection

# Whole string, ASCII digits: $ would accept a trailing newline and \d any script's digits.
E164 = re.compile(r"\+[1-9][0-9]{1,14}\Z")

Group = Literal["storage", "twilio", "voice", "events"]

# Used only while NUMBER_HASH_KEY is unset, and reported as unsafe: anyone who knows it can
# test a number against the opt-out table and the index.
DEVELOPMENT_NUMBER_KEY = b"gateway-development-number-key"
MAX_RETENTION_DAYS = 3650

# A send's claim must outlive the Twilio call it guards, by this much at least.
SETTLE_MARGIN_SECONDS = 5.0

VoiceMode = Literal["greeting", "forward", "voicemail", "menu", "reject"]
VOICE_MODES: tuple[VoiceMode, ...] = ("greeting", "forward", "voicemail", "menu", "reject")


@dataclass(frozen=True)
class MenuOption:
    """What one key of the inbound voice menu does: speak, forward, or take a voicemail."""

    say: str | None = None
    forward_to: str | None = None
    voicemail: bool = False


@dataclass(frozen=True)
class TwilioCredentials:
    """REST credentials: an API key and secret when configured, else the account's auth token."""

    account_sid: str
    username: str
    password: str


@dataclass(frozen=True)
class Settings:
    storage_connection: StorageConnection
    outbound_queue: str = "outbound"
    message_log_table: str = "MessageLog"
    opt_out_table: str = "OptOuts"
    log_message_bodies: bool = True
    account_sid: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    api_key_sid: str | None = None
    api_key_secret: str | None = field(default=None, repr=False)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    public_base_url: str | None = None
    trust_forwarded_headers: bool = False
    validate_signatures: bool = True
    api_base_url: str | None = None
    twilio_timeout_seconds: float = 10.0
    send_lease_seconds: float = 120.0
    status_check_seconds: float = 60.0
    twilio_retry_first_seconds: float = 10.0
    twilio_retry_max_seconds: float = 600.0
    twilio_retry_budget_hours: float = 24.0
    twilio_max_in_flight: int = 24
    sms_auto_reply: str | None = None
    voice_mode: VoiceMode = "greeting"
    voice_greeting: str | None = None
    voice_forward_to: str | None = None
    voice_voice: str | None = None
    voice_language: str | None = None
    voice_menu_prompt: str | None = None
    voice_menu: Mapping[str, MenuOption] = field(default_factory=dict)
    voice_voicemail_prompt: str | None = None
    voice_no_choice: str | None = None
    voice_invalid_choice: str | None = None
    voice_goodbye: str | None = None
    message_index_table: str = "MessageIndex"
    retention_table: str = "Retention"
    retention_days: int = 30
    body_retention_days: int | None = None
    number_hash_key: bytes = field(default=DEVELOPMENT_NUMBER_KEY, repr=False)
    twilio_delete_on_erasure: bool = False
    twilio_delete_on_purge: bool = False
    message_stats_table: str = "MessageStats"
    webhook_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    events: EventSettings = field(default_factory=EventSettings)
    problems: Mapping[str, MissingSettingError | InvalidSettingError] = field(default_factory=dict)

    def require(self, *groups: Group) -> None:
        """Raises ``MisconfiguredError`` when one of the groups a function needs is broken."""
        for group in groups:
            problem = self.problems.get(group)
            if problem is not None:
                raise MisconfiguredError(group, problem)

    def warnings(self) -> list[str]:
        """Settings that work but are unsafe or surprising in production."""
        found = []
        if not self.validate_signatures and not _is_local(self.api_base_url):
            found.append(
                "TWILIO_VALIDATE_SIGNATURES=false: webhooks accept unsigned requests from anyone; "
                "only do this against a local simulator"
            )
        if not self.public_base_url:
            found.append(
                "PUBLIC_BASE_URL is not set: Twilio is never asked for status callbacks, so "
                "sends stay at their first Twilio status"
            )
        if self.number_hash_key == DEVELOPMENT_NUMBER_KEY:
            found.append(
                "NUMBER_HASH_KEY is not set: numbers in the opt-out table and the index are "
                "hashed with a published development key; set a secret (Key Vault) before the "
                "first real message, since changing it later orphans those rows"
            )
        return found

    def twilio_credentials(self) -> TwilioCredentials:
        self.require("twilio")
        if not self.account_sid:
            raise MissingSettingError("TWILIO_ACCOUNT_SID", "needed to call Twilio's REST API")
        if self.api_key_sid and self.api_key_secret:
            return TwilioCredentials(self.account_sid, self.api_key_sid, self.api_key_secret)
        if not self.auth_token:
            raise MissingSettingError(
                "TWILIO_AUTH_TOKEN",
                "needed to call Twilio (or set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET)",
            )
        return TwilioCredentials(self.account_sid, self.account_sid, self.auth_token)

    @property
    def local_stack(self) -> bool:
        """Running against the local stack (a Twilio simulator on this machine)."""
        return _is_local(self.api_base_url)

    @property
    def settle_seconds(self) -> float:
        """How long after Twilio creates a resource its sender may still be recording it."""
        return self.twilio_timeout_seconds + SETTLE_MARGIN_SECONDS

    def status_callback_url(self, outbound_id: str) -> str | None:
        """Where Twilio reports status; without a public URL Twilio has nowhere to call."""
        if not self.public_base_url:
            return None
        return f"{self.public_base_url}/api/twilio/status?id={outbound_id}"


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    raw = text(env, name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 5):
        raise InvalidSettingError(name, f"expected a whole number of days, got {raw!r}")
    value = int(raw)
    if not 1 <= value <= MAX_RETENTION_DAYS:
        raise InvalidSettingError(name, f"must be from 1 to {MAX_RETENTION_DAYS} days")
    return value


def _body_days(env: Mapping[str, str]) -> int | None:
    if text(env, "BODY_RETENTION_DAYS") is None:
        return None
    days = _days(env, "BODY_RETENTION_DAYS", 0)
    records = _days(env, "RETENTION_DAYS", 30)
    if days >= records:
        raise InvalidSettingError(
            "BODY_RETENTION_DAYS",
            f"{days} is not less than RETENTION_DAYS ({records}): the purge deletes it all first",
        )
    return days


def _secret_key(env: Mapping[str, str], name: str) -> bytes:
    raw = text(env, name)
    if raw is None:
        return DEVELOPMENT_NUMBER_KEY
    if len(raw) < 32:
        raise InvalidSettingError(name, "must be at least 32 characters of random text")
    return raw.encode()


def _phone(env: Mapping[str, str], name: str) -> str | None:
    value = text(env, name)
    if value is not None and not E164.fullmatch(value):
        raise InvalidSettingError(name, f"{value!r} is not an E.164 number like +15551234567")
    return value


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = text(env, name)
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        raise InvalidSettingError(name, f"expected an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _menu(env: Mapping[str, str]) -> dict[str, MenuOption]:
    raw = text(env, "VOICE_MENU")
    if raw is None:
        return {}
    try:
        parsed = parse_json(raw)
    except InvalidJsonError as exc:
        raise InvalidSettingError("VOICE_MENU", str(exc)) from None
    if not isinstance(parsed, dict):
        raise InvalidSettingError("VOICE_MENU", 'expected an object like {"1": {"say": "..."}}')
    menu: dict[str, MenuOption] = {}
    for digit, action in parsed.items():
        if not (isinstance(digit, str) and len(digit) == 1 and digit in "0123456789*#"):
            raise InvalidSettingError("VOICE_MENU", f"key {digit!r} is not a single key press")
        if not isinstance(action, dict) or len(action) != 1:
            raise InvalidSettingError(
                "VOICE_MENU", f"key {digit}: expected one of say, forward, voicemail"
            )
        ((verb, value),) = action.items()
        if verb == "say" and isinstance(value, str) and value:
            menu[digit] = MenuOption(say=value)
        elif verb == "forward" and isinstance(value, str) and E164.fullmatch(value):
            menu[digit] = MenuOption(forward_to=value)
        elif verb == "voicemail" and value is True:
            menu[digit] = MenuOption(voicemail=True)
        else:
            raise InvalidSettingError(
                "VOICE_MENU",
                f"key {digit}: {verb!r} must be say (text), forward (E.164) or voicemail (true)",
            )
    return menu


def _voice_mode(env: Mapping[str, str], forward_to: str | None, menu: bool) -> VoiceMode:
    raw = text(env, "VOICE_MODE")
    if raw is None:
        if menu:
            return "menu"
        return "forward" if forward_to else "greeting"
    for mode in VOICE_MODES:
        if raw.lower() == mode:
            break
    else:
        raise InvalidSettingError("VOICE_MODE", f"expected one of {', '.join(VOICE_MODES)}")
    if mode == "forward" and not forward_to:
        raise MissingSettingError("VOICE_FORWARD_TO", "VOICE_MODE=forward needs a number")
    if mode == "menu" and not menu:
        raise MissingSettingError("VOICE_MENU", "VOICE_MODE=menu needs the menu's options")
    return mode


def _lease(env: Mapping[str, str], twilio_timeout: float) -> float:
    lease = positive_number(env, "SEND_LEASE_SECONDS", 120.0)
    if lease < twilio_timeout + SETTLE_MARGIN_SECONDS:
        raise InvalidSettingError(
            "SEND_LEASE_SECONDS",
            f"{lease:g} s must be at least TWILIO_TIMEOUT_SECONDS + {SETTLE_MARGIN_SECONDS:g} "
            f"({twilio_timeout + SETTLE_MARGIN_SECONDS:g} s): a shorter claim could expire "
            "while its Twilio call is still running, and the message would be sent twice",
        )
    return lease


def _retries(env: Mapping[str, str]) -> dict[str, Any]:
    """How a send that Twilio did not take waits (``shared.delivery.retry_policy``), and
    how many Twilio requests one instance keeps in flight at most."""
    first = positive_number(env, "TWILIO_RETRY_FIRST_SECONDS", 10.0)
    longest = positive_number(env, "TWILIO_RETRY_MAX_SECONDS", 600.0)
    if longest < first:
        raise InvalidSettingError(
            "TWILIO_RETRY_MAX_SECONDS",
            f"{longest:g} s is shorter than TWILIO_RETRY_FIRST_SECONDS ({first:g} s)",
        )
    in_flight = positive_number(env, "TWILIO_MAX_IN_FLIGHT", 24)
    if in_flight != int(in_flight):
        raise InvalidSettingError(
            "TWILIO_MAX_IN_FLIGHT", f"expected a whole number, got {in_flight:g}"
        )
    return {
        "twilio_retry_first_seconds": first,
        "twilio_retry_max_seconds": longest,
        "twilio_retry_budget_hours": positive_number(env, "TWILIO_RETRY_BUDGET_HOURS", 24.0),
        "twilio_max_in_flight": int(in_flight),
    }


def _is_local(url: str | None) -> bool:
    return url is not None and urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


# Twilio's shared keys for webhook signatures: up to two at once, so a key can be rotated
# without a moment in which Twilio signs with a key the gateway does not hold.
WEBHOOK_KEY_SETTINGS = (
    ("TWILIO_WEBHOOK_KEY_ID", "TWILIO_WEBHOOK_KEY_SECRET"),
    ("TWILIO_WEBHOOK_KEY_ID_2", "TWILIO_WEBHOOK_KEY_SECRET_2"),
)
# Printable ASCII with no separator of the X-Twilio-Webhooks-Signature-Settings header.
_KEY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")


def _webhook_keys(env: Mapping[str, str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for id_name, secret_name in WEBHOOK_KEY_SETTINGS:
        key_id, secret = text(env, id_name), text(env, secret_name)
        if key_id is None and secret is None:
            continue
        if key_id is None:
            raise MissingSettingError(id_name, f"{secret_name} is set, so its key id is needed")
        if secret is None:
            raise MissingSettingError(secret_name, f"{id_name} is set, so its secret is needed")
        if not _KEY_ID.fullmatch(key_id):
            raise InvalidSettingError(
                id_name, "expected the key id Twilio shows, like webhooks_sharedkey_..."
            )
        if key_id in keys:
            raise InvalidSettingError(id_name, "the same key id is set twice")
        keys[key_id] = secret
    return keys


def _storage(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        "storage_connection": load_storage_connection(env),
        "outbound_queue": text(env, "OUTBOUND_QUEUE") or "outbound",
        "message_log_table": text(env, "MESSAGE_LOG_TABLE") or "MessageLog",
        "opt_out_table": text(env, "OPT_OUT_TABLE") or "OptOuts",
        "message_index_table": text(env, "MESSAGE_INDEX_TABLE") or "MessageIndex",
        "message_stats_table": text(env, "MESSAGE_STATS_TABLE") or "MessageStats",
        "log_message_bodies": flag(env, "LOG_MESSAGE_BODIES", True),
        "retention_table": text(env, "RETENTION_TABLE") or "Retention",
        "retention_days": _days(env, "RETENTION_DAYS", 30),
        "body_retention_days": _body_days(env),
        "number_hash_key": _secret_key(env, "NUMBER_HASH_KEY"),
        "twilio_delete_on_erasure": flag(env, "TWILIO_DELETE_ON_ERASURE", False),
        "twilio_delete_on_purge": flag(env, "TWILIO_DELETE_ON_PURGE", False),
    }


def _twilio(env: Mapping[str, str]) -> dict[str, Any]:
    twilio_timeout = positive_number(env, "TWILIO_TIMEOUT_SECONDS", 10.0)
    return {
        "account_sid": text(env, "TWILIO_ACCOUNT_SID"),
        "auth_token": text(env, "TWILIO_AUTH_TOKEN"),
        "api_key_sid": text(env, "TWILIO_API_KEY_SID"),
        "api_key_secret": text(env, "TWILIO_API_KEY_SECRET"),
        "from_number": _phone(env, "TWILIO_FROM_NUMBER"),
        "messaging_service_sid": text(env, "TWILIO_MESSAGING_SERVICE_SID"),
        "public_base_url": _url(env, "PUBLIC_BASE_URL"),
        "trust_forwarded_headers": flag(env, "TRUST_FORWARDED_HEADERS", False),
        "validate_signatures": flag(env, "TWILIO_VALIDATE_SIGNATURES", True),
        "api_base_url": _url(env, "TWILIO_API_BASE_URL"),
        "twilio_timeout_seconds": twilio_timeout,
        "send_lease_seconds": _lease(env, twilio_timeout),
        "status_check_seconds": positive_number(env, "STATUS_CHECK_SECONDS", 60.0),
        **_retries(env),
        "sms_auto_reply": text(env, "SMS_AUTO_REPLY"),
        "webhook_keys": _webhook_keys(env),
    }


def _voice(env: Mapping[str, str]) -> dict[str, Any]:
    forward_to = _phone(env, "VOICE_FORWARD_TO")
    menu = _menu(env)
    return {
        "voice_mode": _voice_mode(env, forward_to, bool(menu)),
        "voice_greeting": text(env, "VOICE_GREETING"),
        "voice_forward_to": forward_to,
        "voice_voice": text(env, "VOICE_VOICE"),
        "voice_language": text(env, "VOICE_LANGUAGE"),
        "voice_menu_prompt": text(env, "VOICE_MENU_PROMPT"),
        "voice_menu": menu,
        "voice_voicemail_prompt": text(env, "VOICE_VOICEMAIL_PROMPT"),
        "voice_no_choice": text(env, "VOICE_NO_CHOICE"),
        "voice_invalid_choice": text(env, "VOICE_INVALID_CHOICE"),
        "voice_goodbye": text(env, "VOICE_GOODBYE"),
    }


def _events(env: Mapping[str, str]) -> dict[str, Any]:
    local = _is_local(text(env, "TWILIO_API_BASE_URL"))
    return {"events": load_event_settings(env, local)}


_GROUPS: dict[Group, Callable[[Mapping[str, str]], dict[str, Any]]] = {
    "storage": _storage,
    "twilio": _twilio,
    "voice": _voice,
    "events": _events,
}


def load_settings(env: Mapping[str, str]) -> Settings:
    """Never raises for a bad setting: a broken group keeps its defaults and its problem,
    which ``Settings.require`` raises in the functions that need that group."""
    values: dict[str, Any] = {"storage_connection": StorageConnection()}
    problems: dict[str, MissingSettingError | InvalidSettingError] = {}
    for group, read in _GROUPS.items():
        try:
            values.update(read(env))
        except (MissingSettingError, InvalidSettingError) as exc:
            problems[group] = exc
    return Settings(**values, problems=problems)


@cache
def get_settings() -> Settings:
    """The process's settings, read once; every problem is logged here, once, loudly."""
    settings = load_settings(os.environ)
    for group, problem in settings.problems.items():
        logs.error("setting_invalid", setting=problem.name, group=group, problem=str(problem))
    for warning in settings.warnings():
        logs.error("setting_unsafe", problem=warning)
    return settings
