"""Checks that a webhook really comes from Twilio, with the ``twilio`` library's validator.

Twilio signs the exact URL it called. Behind Front Door, a custom domain or a tunnel the
Functions host sees another URL, so the public one is rebuilt from ``PUBLIC_BASE_URL`` or,
only when explicitly trusted, from ``X-Forwarded-Proto``/``X-Forwarded-Host``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit, urlunsplit

import azure.functions as func
from twilio.request_validator import RequestValidator

from shared.platform import logs
from shared.platform.http import FormParams, form_params
from shared.platform.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"


def public_url(req: func.HttpRequest, settings: Settings) -> str:
    seen = urlsplit(req.url)
    if settings.public_base_url:
        base = urlsplit(settings.public_base_url)
        path = base.path.rstrip("/") + seen.path
        return str(urlunsplit((base.scheme, base.netloc, path, seen.query, "")))
    scheme, host = seen.scheme, seen.netloc
    if settings.trust_forwarded_headers:
        proto = req.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        forwarded_host = req.headers.get("x-forwarded-host", "").split(",")[0].strip()
        scheme = proto or scheme
        host = forwarded_host or host
    return str(urlunsplit((scheme, host, seen.path, seen.query, "")))


NO_AUTH_TOKEN = "webhooks are refused: this gateway has no TWILIO_AUTH_TOKEN"
MISSING = (
    "the X-Twilio-Signature header is missing: only Twilio may call this URL "
    "(to look at TwiML, use /api/preview/... with a function key)"
)
MISMATCH = "the X-Twilio-Signature does not match this URL and its parameters"


def refusal(req: func.HttpRequest, settings: Settings) -> str | None:
    """Why the request is not from Twilio, or None when the signature matches.

    Fails closed without an auth token. The reason is safe to show the caller; the log line
    adds the URL that was checked, which is what to compare with the URL Twilio called.
    """
    path = urlsplit(req.url).path
    if not settings.validate_signatures:
        logs.warning("webhook_signature_check_disabled", path=path)
        return None
    if not settings.auth_token:
        logs.error(
            "webhook_refused_no_auth_token",
            path=path,
            fix="set TWILIO_AUTH_TOKEN (or TWILIO_VALIDATE_SIGNATURES=false for local tests)",
        )
        return NO_AUTH_TOKEN
    signature = req.headers.get(SIGNATURE_HEADER)
    if not signature:
        logs.warning("webhook_signature_missing", path=path)
        return MISSING
    url = public_url(req, settings)
    params: str | FormParams
    if "bodySHA256" in parse_qs(urlsplit(url).query):
        params = req.get_body().decode("utf-8", errors="replace")
    else:
        params = form_params(req)
    if RequestValidator(settings.auth_token).validate(url, params, signature):
        return None
    logs.warning(
        "webhook_signature_invalid",
        path=path,
        validated_url=url,
        received_url=req.url,
        hint="Twilio signs the exact URL it called: PUBLIC_BASE_URL (scheme, host, port) "
        "must match the URL given to Twilio, e.g. localhost is not 127.0.0.1",
    )
    return MISMATCH


def is_from_twilio(req: func.HttpRequest, settings: Settings) -> bool:
    return refusal(req, settings) is None
