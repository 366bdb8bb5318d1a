"""Shared-key signatures (HMAC-SHA256, named in X-Twilio-Webhooks-Signature-Settings),
checked against signatures computed here with ``hmac``, not with the gateway's validator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest

from shared.platform.settings import Settings
from shared.platform.storage_connection import StorageConnection
from shared.twilio.signatures import MISMATCH, NO_AUTH_TOKEN, refusal

TOKEN = "auth-token-123"
KEYS = {"webhooks_sharedkey_old": "old-secret", "webhooks_sharedkey_new": "new-secret"}
PARAMS = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+15551234567"}
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"


def settings(**fields: Any) -> Settings:
    values: dict[str, Any] = {"auth_token": TOKEN, "webhook_keys": KEYS, **fields}
    return Settings(storage_connection=StorageConnection("UseDevelopmentStorage=true"), **values)


def hmac_signature(secret: str, url: str, params: dict[str, str], digest: str = "sha256") -> str:
    """Twilio's scheme: the URL, then each parameter's name and value in name order."""
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), digest).digest()).decode()


def request(
    url: str, body: bytes, content_type: str, signature: str, signature_settings: str | None
) -> func.HttpRequest:
    headers = {"Content-Type": content_type, "X-Twilio-Signature": signature}
    if signature_settings is not None:
        headers[SETTINGS_HEADER] = signature_settings
    return func.HttpRequest("POST", url, headers=headers, body=body)


def form(url: str, signature: str, signature_settings: str | None) -> func.HttpRequest:
    body = urlencode(PARAMS).encode()
    return request(url, body, "application/x-www-form-urlencoded", signature, signature_settings)


def sha256_settings(key: str) -> str:
    return f"key={key},algorithm=HMAC_SHA256"


@pytest.mark.parametrize("key", list(KEYS))
@pytest.mark.parametrize(
    ("received", "signed"),
    [
        ("https://gw.example/api/twilio/status?id=a", "https://gw.example/api/twilio/status?id=a"),
        (
            "https://gw.example/api/twilio/status?id=a",
            "https://gw.example:443/api/twilio/status?id=a",
        ),
        (
            "https://gw.example:443/api/twilio/status?id=a",
            "https://gw.example/api/twilio/status?id=a",
        ),
        ("http://127.0.0.1:7071/api/twilio/sms", "http://127.0.0.1:7071/api/twilio/sms"),
    ],
    ids=["no_port", "twilio_added_the_port", "twilio_dropped_the_port", "own_port"],
)
def test_form_signed_with_either_shared_key_passes(key: str, received: str, signed: str) -> None:
    req = form(received, hmac_signature(KEYS[key], signed, PARAMS), sha256_settings(key))

    assert refusal(req, settings()) is None


@pytest.mark.parametrize(
    "base", ["https://gw.example/api/twilio/status", "http://127.0.0.1:7071/api/twilio/status"]
)
def test_json_body_signed_with_a_shared_key_passes(base: str) -> None:
    body = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered"})
    url = f"{base}?id=a&bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    key = "webhooks_sharedkey_new"
    signature = hmac_signature(KEYS[key], url, {})

    accepted = request(url, body.encode(), "application/json", signature, sha256_settings(key))
    tampered = request(
        url, body.replace("delivered", "failed").encode(), "application/json", signature,
        sha256_settings(key),
    )  # fmt: skip

    assert refusal(accepted, settings()) is None
    assert refusal(tampered, settings()) == MISMATCH


def test_shared_key_signature_without_the_settings_header_is_checked_with_the_auth_token() -> None:
    url = "https://gw.example/api/twilio/sms"
    req = form(url, hmac_signature(KEYS["webhooks_sharedkey_new"], url, PARAMS), None)

    assert refusal(req, settings()) == MISMATCH


def test_auth_token_signature_still_passes_where_no_settings_header_is_sent() -> None:
    url = "https://gw.example/api/twilio/sms"
    req = form(url, hmac_signature(TOKEN, url, PARAMS, "sha1"), None)

    assert refusal(req, settings()) is None


def test_auth_token_signature_under_a_shared_key_header_fails() -> None:
    url = "https://gw.example/api/twilio/sms"
    req = form(url, hmac_signature(TOKEN, url, PARAMS), sha256_settings("webhooks_sharedkey_new"))

    assert refusal(req, settings()) == MISMATCH


def test_unknown_key_id_is_refused_naming_it_and_the_settings() -> None:
    url = "https://gw.example/api/twilio/sms"
    req = form(url, hmac_signature("x", url, PARAMS), sha256_settings("webhooks_sharedkey_gone"))

    reason = refusal(req, settings())

    assert reason is not None
    assert "'webhooks_sharedkey_gone'" in reason and "TWILIO_WEBHOOK_KEY_ID_2" in reason


def test_unknown_algorithm_is_refused_naming_it() -> None:
    url = "https://gw.example/api/twilio/sms"
    header = "key=webhooks_sharedkey_new,algorithm=HMAC_SHA512"
    req = form(url, hmac_signature(KEYS["webhooks_sharedkey_new"], url, PARAMS, "sha512"), header)

    reason = refusal(req, settings())

    assert reason is not None and "'HMAC_SHA512'" in reason and "HMAC_SHA256" in reason


def test_settings_header_without_a_key_is_refused() -> None:
    url = "https://gw.example/api/twilio/sms"
    req = form(url, "c2ln", "algorithm=HMAC_SHA256")

    reason = refusal(req, settings())

    assert reason is not None and "names no key" in reason


def test_shared_key_works_without_an_auth_token() -> None:
    url = "https://gw.example/api/twilio/sms"
    key = "webhooks_sharedkey_old"
    signed = form(url, hmac_signature(KEYS[key], url, PARAMS), sha256_settings(key))
    unsigned_by_key = form(url, hmac_signature(TOKEN, url, PARAMS, "sha1"), None)

    assert refusal(signed, settings(auth_token=None)) is None
    assert refusal(unsigned_by_key, settings(auth_token=None)) == NO_AUTH_TOKEN
