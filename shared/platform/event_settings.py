"""The settings of events out: where events go, which types each destination gets, and how
long a destination that does not answer is retried.

Webhook subscriptions are numbered (``EVENT_WEBHOOK_URL``, ``EVENT_WEBHOOK_SECRET``,
``EVENT_WEBHOOK_TYPES``, ``EVENT_WEBHOOK_BODIES``, then the same with ``_2``, ``_3``... up to
the first number that is not set), so each secret stays one app setting and thus one Key
Vault reference. A secret may hold several
Standard Webhooks secrets separated by spaces: every one signs, so a secret can be rotated
without a moment in which the receiver does not know the one in use.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.platform.errors import InvalidSettingError, MissingSettingError
from shared.platform.setting_values import flag, positive_number, text

MAX_WEBHOOK_SUBSCRIPTIONS = 20
SECRET_PREFIX = "whsec_"
# ``default``, ``all`` or a type, in full or from its kind on (``sms.delivered``).
_TYPE_NAME = re.compile(r"(default|all|(io\.github\.twilio-gateway\.)?(sms|call)\.[a-z_-]{1,32})\Z")


@dataclass(frozen=True)
class WebhookSubscription:
    """One subscription from the settings; ``number`` is its suffix (1 for none)."""

    number: int
    url: str
    secrets: tuple[str, ...] = field(repr=False)
    types: tuple[str, ...] = ("default",)
    bodies: bool = False

    @property
    def name(self) -> str:
        return "webhook" if self.number == 1 else f"webhook_{self.number}"


@dataclass(frozen=True)
class EventGridTopic:
    """A custom topic (``namespace_topic`` None) or a namespace topic; a key or, without
    one, the app's managed identity (role EventGrid Data Sender)."""

    endpoint: str
    key: str | None = field(default=None, repr=False)
    namespace_topic: str | None = None
    types: tuple[str, ...] = ("default",)
    bodies: bool = False


@dataclass(frozen=True)
class EventSettings:
    queue: str = "events"
    dead_letter_table: str = "EventDeadLetters"
    destination_table: str = "EventDestinations"
    event_grid: EventGridTopic | None = None
    webhooks: tuple[WebhookSubscription, ...] = ()
    callback_secrets: tuple[str, ...] = field(default=(), repr=False)
    callback_types: tuple[str, ...] = ("default",)
    retry_first_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    retry_budget_hours: float = 72.0
    signal_delay_seconds: float = 5.0
    signal_checks: int = 5

    @property
    def configured(self) -> bool:
        """Some destination may want an event: else nothing is signalled, read or sent."""
        return bool(self.event_grid or self.webhooks or self.callback_secrets)


def _types(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = text(env, name)
    if raw is None:
        return ("default",)
    names = tuple(part.strip() for part in raw.split(",") if part.strip())
    for part in names:
        if not _TYPE_NAME.fullmatch(part):
            raise InvalidSettingError(
                name,
                f"{part!r} is not an event type: expected default, all, or names like "
                "sms.delivered, separated by commas",
            )
    return names or ("default",)


def _secrets(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = text(env, name) or ""
    found = tuple(raw.split())
    for secret in found:
        body = secret.removeprefix(SECRET_PREFIX)
        try:
            decoded = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if not secret.startswith(SECRET_PREFIX) or len(decoded) < 24:
            raise InvalidSettingError(
                name,
                "expected Standard Webhooks secrets: whsec_ and at least 24 random bytes in "
                "base64, several separated by spaces",
            )
    return found


def _destination_url(env: Mapping[str, str], name: str, local: bool) -> str | None:
    value = text(env, name)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidSettingError(name, "expected an absolute https URL")
    if parts.scheme == "http" and not local:
        raise InvalidSettingError(name, "must be https (http only against the local stack)")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidSettingError(name, "must have no user name, password or #fragment")
    return value


def _webhooks(env: Mapping[str, str], local: bool) -> tuple[WebhookSubscription, ...]:
    found: list[WebhookSubscription] = []
    for number in range(1, MAX_WEBHOOK_SUBSCRIPTIONS + 1):
        suffix = "" if number == 1 else f"_{number}"
        url_name, secret_name = f"EVENT_WEBHOOK_URL{suffix}", f"EVENT_WEBHOOK_SECRET{suffix}"
        url = _destination_url(env, url_name, local)
        secrets = _secrets(env, secret_name)
        if url is None and not secrets:
            break
        if url is None:
            raise MissingSettingError(url_name, f"{secret_name} is set, so its URL is needed")
        if not secrets:
            raise MissingSettingError(secret_name, f"{url_name} is set: webhooks are signed")
        types = _types(env, f"EVENT_WEBHOOK_TYPES{suffix}")
        bodies = flag(env, f"EVENT_WEBHOOK_BODIES{suffix}", False)
        found.append(WebhookSubscription(number, url, secrets, types, bodies))
    return tuple(found)


def _event_grid(env: Mapping[str, str], local: bool) -> EventGridTopic | None:
    endpoint = _destination_url(env, "EVENT_GRID_TOPIC_ENDPOINT", local)
    key = text(env, "EVENT_GRID_TOPIC_KEY")
    namespace_topic = text(env, "EVENT_GRID_NAMESPACE_TOPIC")
    if endpoint is None:
        if key or namespace_topic:
            raise MissingSettingError(
                "EVENT_GRID_TOPIC_ENDPOINT", "an Event Grid key or namespace topic is set"
            )
        return None
    if endpoint.startswith("http://") and key is None:
        raise MissingSettingError(
            "EVENT_GRID_TOPIC_KEY", "a managed identity's token is only sent over https"
        )
    types = _types(env, "EVENT_GRID_TYPES")
    return EventGridTopic(
        endpoint, key, namespace_topic, types, flag(env, "EVENT_GRID_BODIES", False)
    )


def load_event_settings(env: Mapping[str, str], local: bool) -> EventSettings:
    """``local``: the gateway runs against the local stack, where destinations may be http."""
    first = positive_number(env, "EVENT_RETRY_FIRST_SECONDS", 30.0)
    longest = positive_number(env, "EVENT_RETRY_MAX_SECONDS", 3600.0)
    if longest < first:
        raise InvalidSettingError(
            "EVENT_RETRY_MAX_SECONDS",
            f"{longest:g} s is shorter than EVENT_RETRY_FIRST_SECONDS ({first:g} s)",
        )
    return EventSettings(
        queue=text(env, "EVENTS_QUEUE") or "events",
        dead_letter_table=text(env, "EVENT_DEAD_LETTER_TABLE") or "EventDeadLetters",
        destination_table=text(env, "EVENT_DESTINATION_TABLE") or "EventDestinations",
        event_grid=_event_grid(env, local),
        webhooks=_webhooks(env, local),
        callback_secrets=_secrets(env, "EVENT_CALLBACK_SECRET"),
        callback_types=_types(env, "EVENT_CALLBACK_TYPES"),
        retry_first_seconds=first,
        retry_max_seconds=longest,
        retry_budget_hours=positive_number(env, "EVENT_RETRY_BUDGET_HOURS", 72.0),
        signal_delay_seconds=positive_number(env, "EVENT_SIGNAL_DELAY_SECONDS", 5.0),
        signal_checks=_checks(env),
    )


def _checks(env: Mapping[str, str]) -> int:
    raw = text(env, "EVENT_SIGNAL_CHECKS")
    if raw is None:
        return 5
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 20):
        raise InvalidSettingError("EVENT_SIGNAL_CHECKS", "expected a whole number from 1 to 20")
    return int(raw)
