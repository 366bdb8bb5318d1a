"""Simulator settings, read once from the environment so a bad value fails at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

MessageOutcome = Literal["delivered", "undelivered", "failed"]
CallOutcome = Literal["completed", "busy", "no-answer", "failed"]

MESSAGE_OUTCOMES: tuple[MessageOutcome, ...] = ("delivered", "undelivered", "failed")
CALL_OUTCOMES: tuple[CallOutcome, ...] = ("completed", "busy", "no-answer", "failed")

# The account SID Twilio's own documentation and OpenAPI examples use.
DEFAULT_ACCOUNT_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
DEFAULT_AUTH_TOKEN = "local-dev-auth-token"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """An environment variable holds a value the simulator cannot use."""


@dataclass(frozen=True)
class SimConfig:
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    api_key_sid: str | None = None
    api_key_secret: str | None = None
    callback_delay: float = 0.2
    message_outcome: MessageOutcome = "delivered"
    call_outcome: CallOutcome = "completed"
    out_of_order: bool = False
    fault_429_rate: float = 0.0
    fault_500_rate: float = 0.0
    fault_503_rate: float = 0.0
    fault_timeout_rate: float = 0.0
    fault_created_then_500_rate: float = 0.0
    slow_seconds: float = 30.0
    seed: int | None = None
    http_timeout: float = 10.0
    # Set together: every webhook is signed with this shared key and HMAC-SHA256, as when a
    # webhook rule asks for it, and says so in X-Twilio-Webhooks-Signature-Settings.
    webhook_key_id: str | None = None
    webhook_key_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            raise ConfigError("TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET must be set together")
        if (self.webhook_key_id is None) != (self.webhook_key_secret is None):
            raise ConfigError("SIM_WEBHOOK_KEY_ID and SIM_WEBHOOK_KEY_SECRET must be set together")
        if self.message_outcome not in MESSAGE_OUTCOMES:
            raise ConfigError(f"SIM_MESSAGE_OUTCOME must be one of {', '.join(MESSAGE_OUTCOMES)}")
        if self.call_outcome not in CALL_OUTCOMES:
            raise ConfigError(f"SIM_CALL_OUTCOME must be one of {', '.join(CALL_OUTCOMES)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimConfig:
        source = os.environ if env is None else env
        reader = _EnvReader(source)
        return cls(
            account_sid=reader.account_sid("TWILIO_ACCOUNT_SID", DEFAULT_ACCOUNT_SID),
            auth_token=reader.text("TWILIO_AUTH_TOKEN", DEFAULT_AUTH_TOKEN),
            api_key_sid=reader.optional_text("TWILIO_API_KEY_SID"),
            api_key_secret=reader.optional_text("TWILIO_API_KEY_SECRET"),
            callback_delay=reader.seconds("SIM_CALLBACK_DELAY", 0.2),
            message_outcome=cast(
                MessageOutcome, reader.choice("SIM_MESSAGE_OUTCOME", MESSAGE_OUTCOMES, "delivered")
            ),
            call_outcome=cast(
                CallOutcome, reader.choice("SIM_CALL_OUTCOME", CALL_OUTCOMES, "completed")
            ),
            out_of_order=reader.flag("SIM_OUT_OF_ORDER"),
            fault_429_rate=reader.rate("SIM_FAULT_429_RATE"),
            fault_500_rate=reader.rate("SIM_FAULT_500_RATE"),
            fault_503_rate=reader.rate("SIM_FAULT_503_RATE"),
            fault_timeout_rate=reader.rate("SIM_FAULT_TIMEOUT_RATE"),
            fault_created_then_500_rate=reader.rate("SIM_FAULT_CREATED_THEN_500_RATE"),
            slow_seconds=reader.seconds("SIM_SLOW_SECONDS", 30.0),
            seed=reader.optional_int("SIM_SEED"),
            http_timeout=reader.seconds("SIM_HTTP_TIMEOUT", 10.0),
            webhook_key_id=reader.optional_text("SIM_WEBHOOK_KEY_ID"),
            webhook_key_secret=reader.optional_text("SIM_WEBHOOK_KEY_SECRET"),
        )


class _EnvReader:
    """Parses one variable at a time so every error names the variable at fault."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def _raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def text(self, name: str, default: str) -> str:
        return self._raw(name) or default

    def optional_text(self, name: str) -> str | None:
        return self._raw(name)

    def account_sid(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if len(value) != 34 or not value.startswith("AC"):
            raise ConfigError(f"{name} must be 'AC' followed by 32 characters, got {value!r}")
        return value

    def seconds(self, name: str, default: float) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{name} must not be negative, got {raw!r}")
        return value

    def rate(self, name: str) -> float:
        raw = self._raw(name)
        if raw is None:
            return 0.0
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(
                f"{name} must be a probability between 0 and 1, got {raw!r}"
            ) from None
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"{name} must be a probability between 0 and 1, got {raw!r}")
        return value

    def flag(self, name: str) -> bool:
        raw = (self._raw(name) or "").lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return raw

    def optional_int(self, name: str) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
