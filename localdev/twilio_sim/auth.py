"""HTTP Basic auth as Twilio checks it: account SID + auth token, or API key SID + secret."""

from __future__ import annotations

import binascii
import hmac
import re
from base64 import b64decode
from typing import NamedTuple

from aiohttp import hdrs, web

from localdev.twilio_sim.config import SimConfig
from localdev.twilio_sim.validation import TwilioApiError

_ACCOUNT_IN_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+)")


class Credentials(NamedTuple):
    login: str
    password: str


def basic_user(request: web.Request) -> Credentials | None:
    """Decodes the header by hand: aiohttp 3.14 deprecates BasicAuth, and warnings fail tests."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    login, separator, password = decoded.partition(":")
    if not separator:
        return None
    return Credentials(login, password)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticate(config: SimConfig, request: web.Request) -> None:
    """Also refuses (20003) a path naming another account: these keys cannot reach it."""
    credentials = basic_user(request)
    if credentials is None or not _valid(config, credentials):
        raise TwilioApiError(20003, "Authenticate", status=401)
    match = _ACCOUNT_IN_PATH.match(request.path)
    if match is not None and match.group(1) != config.account_sid:
        raise TwilioApiError(20003, "Authenticate", status=401)


def _valid(config: SimConfig, credentials: Credentials) -> bool:
    if _same(credentials.login, config.account_sid):
        return _same(credentials.password, config.auth_token)
    if config.api_key_sid is not None and config.api_key_secret is not None:
        return _same(credentials.login, config.api_key_sid) and _same(
            credentials.password, config.api_key_secret
        )
    return False
