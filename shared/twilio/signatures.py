"""Checks that a webhook really comes from Twilio, with the ``twilio`` library's validator.

Twilio signs the exact URL it called. Behind Front Door, a custom domain or a tunnel the
Functions host sees another URL, so the public one is rebuilt from ``PUBLIC_BASE_URL`` or,
only when explicitly trusted, from ``X-Forwarded-Proto``/``X-Forwarded-Host``.

Twilio signs with the account's auth token and HMAC-SHA1, or, when a webhook rule asks for
it, with a shared key and HMAC-SHA256; then it names the key and the algorithm in
``X-Twilio-Webhooks-Signature-Settings``. The key is looked up by its id among those in the
settings (two at once, for rotation); a key or algorithm the gateway does not know is a
refusal that says so, never a fall back to the auth token.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit, urlunsplit

import azure.functions as func
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from shared.platform import logs
from shared.platform.errors import shown
from shared.platform.http import FormParams, form_params
from shared.platform.settings import WEBHOOK_KEY_SETTINGS, Settings

SIGNATURE_HEADER = "X-Twilio-Signature"
ALGORITHMS = (HMAC_SHA1, HMAC_SHA256)
# A host name or an IPv6 literal, then an optional port of 1 to 5 ASCII digits.
_HOST = re.compile(
    r"(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?\Z"
)
_PROTOS = ("http", "https")


class UntrustedUrlError(ValueError):
    """The URL to check cannot be rebuilt from what the request says; the message says why."""


def _forwarded(req: func.HttpRequest, name: str) -> str:
    value: str = req.headers.get(name, "")
    return value.split(",")[0].strip()


def public_url(req: func.HttpRequest, settings: Settings) -> str:
    seen = urlsplit(req.url)
    if settings.public_base_url:
        base = urlsplit(settings.public_base_url)
        path = base.path.rstrip("/") + seen.path
        return str(urlunsplit((base.scheme, base.netloc, path, seen.query, "")))
    scheme, host = seen.scheme, seen.netloc
    if settings.trust_forwarded_headers:
        proto = _forwarded(req, "x-forwarded-proto").lower()
        forwarded_host = _forwarded(req, "x-forwarded-host")
        if proto and proto not in _PROTOS:
            raise UntrustedUrlError(f"X-Forwarded-Proto {shown(proto)} is not http or https")
        if forwarded_host and not _HOST.fullmatch(forwarded_host):
            raise UntrustedUrlError(
                f"X-Forwarded-Host {shown(forwarded_host)} is not a host[:port]"
            )
        scheme = proto or scheme
        host = forwarded_host or host
    url = str(urlunsplit((scheme, host, seen.path, seen.query, "")))
    try:
        port = urlsplit(url).port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise UntrustedUrlError(f"the host {shown(host)} has no valid port (1 to 65535)")
    return url


NO_AUTH_TOKEN = "webhooks are refused: this gateway has no TWILIO_AUTH_TOKEN"
MISSING = (
    "the X-Twilio-Signature header is missing: only Twilio may call this URL "
    "(to look at TwiML, use /api/preview/... with a function key)"
)
MISMATCH = "the X-Twilio-Signature does not match this URL and its parameters"
_KEY_SETTINGS = ", ".join(id_name for id_name, _ in WEBHOOK_KEY_SETTINGS)


def _key_id(signature_settings: str) -> str | None:
    for part in signature_settings.split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "key" and value.strip():
            return value.strip()
    return None


def _secret_and_algorithm(req: func.HttpRequest, settings: Settings) -> tuple[str, str] | str:
    """The secret and algorithm the request says it was signed with, or why it cannot be."""
    signature_settings = req.headers.get(SIGNATURE_SETTINGS_HEADER, "").strip()
    if not signature_settings:
        if not settings.auth_token:
            return NO_AUTH_TOKEN
        return settings.auth_token, HMAC_SHA1
    algorithm = get_signature_algorithm(signature_settings)
    if algorithm.upper() not in ALGORITHMS:
        return (
            f"{SIGNATURE_SETTINGS_HEADER} names the algorithm {shown(algorithm)}; "
            f"this gateway checks {' or '.join(ALGORITHMS)}"
        )
    key_id = _key_id(signature_settings)
    if key_id is None:
        return f"{SIGNATURE_SETTINGS_HEADER} names no key (key=...)"
    secret = settings.webhook_keys.get(key_id)
    if secret is None:
        return (
            f"{SIGNATURE_SETTINGS_HEADER} names the key {shown(key_id)}, which is not one "
            f"of this gateway's shared keys ({_KEY_SETTINGS})"
        )
    return secret, algorithm


def refusal(req: func.HttpRequest, settings: Settings) -> str | None:
    """Why the request is not from Twilio, or None when the signature matches.

    Fails closed without a secret to check with. The reason is safe to show the caller; the
    log line adds the URL that was checked, which is what to compare with the URL Twilio
    called.
    """
    path = urlsplit(req.url).path
    if not settings.validate_signatures:
        logs.warning("webhook_signature_check_disabled", path=path)
        return None
    checked_with = _secret_and_algorithm(req, settings)
    if isinstance(checked_with, str):
        if checked_with == NO_AUTH_TOKEN:
            logs.error(
                "webhook_refused_no_auth_token",
                path=path,
                fix="set TWILIO_AUTH_TOKEN (or TWILIO_VALIDATE_SIGNATURES=false for local tests)",
            )
        else:
            logs.warning("webhook_signature_settings_refused", path=path, reason=checked_with)
        return checked_with
    secret, algorithm = checked_with
    signature = req.headers.get(SIGNATURE_HEADER)
    if not signature:
        logs.warning("webhook_signature_missing", path=path)
        return MISSING
    try:
        url = public_url(req, settings)
    except UntrustedUrlError as exc:
        logs.warning("webhook_url_unusable", path=path, reason=str(exc))
        return str(exc)
    params: str | FormParams
    if "bodySHA256" in parse_qs(urlsplit(url).query):
        params = req.get_body().decode("utf-8", errors="replace")
    else:
        params = form_params(req)
    if RequestValidator(secret).validate(url, params, signature, algorithm=algorithm):
        return None
    logs.warning(
        "webhook_signature_invalid",
        path=path,
        algorithm=algorithm,
        validated_url=url,
        received_url=req.url,
        hint="Twilio signs the exact URL it called: PUBLIC_BASE_URL (scheme, host, port) "
        "must match the URL given to Twilio, e.g. localhost is not 127.0.0.1",
    )
    return MISMATCH


def is_from_twilio(req: func.HttpRequest, settings: Settings) -> bool:
    return refusal(req, settings) is None
