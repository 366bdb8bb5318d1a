"""The ``callback_url`` of a send request: where that record's events go, checked before the
request is accepted so that a producer hears at once what is wrong with it.

What can be judged from the text alone is judged here: an absolute https URL (http only to a
loopback host while the gateway runs against the local stack), no user name or password, no
fragment, a bounded length, and no host that is a literal loopback, private, link-local,
multicast, reserved or unspecified address. A name that resolves to such an address is
refused when the event is sent (``shared.publish.webhook``), since a name can change what it
resolves to between now and then.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from shared.domain.event_types import UnknownEventTypeError, resolve
from shared.platform.errors import InvalidRequestError

FIELD = "callback_url"
TYPES_FIELD = "callback_events"
MAX_CALLBACK_URL = 2048
MAX_CALLBACK_EVENTS = 64
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _refuse(code: str, message: str) -> InvalidRequestError:
    return InvalidRequestError(code, f"'{FIELD}' {message}", FIELD)


def _unsafe_literal(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.rstrip(".").lower() == "localhost" or host.lower().endswith(".localhost")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def check_callback_url(value: object, *, local: bool = False) -> str:
    """The URL as given, or an ``InvalidRequestError`` naming ``callback_url`` and the rule."""
    if not isinstance(value, str):
        raise _refuse("invalid_callback_url", "must be a string")
    if len(value) > MAX_CALLBACK_URL:
        raise _refuse("callback_url_too_long", f"can be at most {MAX_CALLBACK_URL} characters")
    if not value.isascii() or not value.isprintable() or " " in value:
        raise _refuse(
            "invalid_callback_url", "must be printable ASCII without spaces (percent-encode)"
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port out of range raises here
        host = parts.hostname
    except ValueError:
        raise _refuse("invalid_callback_url", "is not a valid URL") from None
    if parts.scheme not in ("https", "http") or not host or not parts.netloc:
        raise _refuse("invalid_callback_url", "must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _refuse("callback_url_credentials", "must not hold a user name or password")
    if parts.fragment or "#" in value:
        raise _refuse("callback_url_fragment", "must not have a #fragment")
    loopback = host.lower() in LOOPBACK_NAMES
    if local and loopback:
        return value
    if parts.scheme != "https":
        raise _refuse("callback_url_not_https", "must use https")
    if _unsafe_literal(host):
        raise _refuse(
            "callback_url_private_address",
            "must not point at a loopback, private, link-local or reserved address",
        )
    return value


def check_callback_events(value: object) -> tuple[str, ...]:
    """Which event types the callback gets (``default``, ``all`` or type names)."""
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= MAX_CALLBACK_EVENTS
        or not all(isinstance(name, str) for name in value)
    ):
        raise InvalidRequestError(
            "invalid_callback_events",
            f"'{TYPES_FIELD}' must be a list of 1-{MAX_CALLBACK_EVENTS} event type names",
            TYPES_FIELD,
        )
    try:
        resolve(value)
    except UnknownEventTypeError as exc:
        raise InvalidRequestError(
            "invalid_callback_events",
            f"'{TYPES_FIELD}': {str(exc)[:80]!r} is not an event type (default, all, or a name "
            "like sms.delivered)",
            TYPES_FIELD,
        ) from None
    return tuple(value)


def require_callback_secret(callback_url: str | None, configured: bool) -> None:
    """A ``callback_url`` is signed with the gateway's secret: without one it is refused."""
    if callback_url is not None and not configured:
        raise InvalidRequestError(
            "callback_url_not_configured",
            "'callback_url' needs the gateway setting EVENT_CALLBACK_SECRET (the secret its "
            "events are signed with), which is not set",
            FIELD,
        )
