"""Webhook signatures, checked with the twilio library's own validator."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from shared.platform.settings import Settings
from shared.platform.storage_connection import StorageConnection
from shared.twilio.signatures import (
    MISMATCH,
    MISSING,
    NO_AUTH_TOKEN,
    is_from_twilio,
    public_url,
    refusal,
)

TOKEN = "auth-token-123"
PUBLIC = "https://public.example.com"
FORM = "application/x-www-form-urlencoded"
SMS_PARAMS = {"From": "+15551234567", "To": "+15005550006", "Body": "hi", "MessageSid": "SM1"}


def settings(**fields: Any) -> Settings:
    values: dict[str, Any] = {"auth_token": TOKEN, **fields}
    return Settings(storage_connection=StorageConnection("UseDevelopmentStorage=true"), **values)


def sign(url: str, params: object, token: str = TOKEN) -> str:
    signature: str = RequestValidator(token).compute_signature(url, params)
    return signature


def form_request(
    url: str,
    pairs: list[tuple[str, str]],
    signature: str | None,
    headers: dict[str, str] | None = None,
) -> func.HttpRequest:
    all_headers = {"Content-Type": FORM, **(headers or {})}
    if signature is not None:
        all_headers["X-Twilio-Signature"] = signature
    return func.HttpRequest("POST", url, headers=all_headers, body=urlencode(pairs).encode("utf-8"))


def test_valid_form_signature_passes() -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    req = form_request(url, list(SMS_PARAMS.items()), sign(url, SMS_PARAMS))

    assert is_from_twilio(req, settings())


def test_signature_made_with_another_token_fails() -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    req = form_request(url, list(SMS_PARAMS.items()), sign(url, SMS_PARAMS, "other-token"))

    assert not is_from_twilio(req, settings())


def test_tampered_form_parameter_fails() -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    tampered = {**SMS_PARAMS, "Body": "send money"}
    req = form_request(url, list(tampered.items()), sign(url, SMS_PARAMS))

    assert not is_from_twilio(req, settings())


def test_missing_signature_header_fails() -> None:
    req = form_request(f"{PUBLIC}/api/twilio/sms", list(SMS_PARAMS.items()), None)

    assert not is_from_twilio(req, settings())


def test_no_auth_token_fails_closed_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    req = form_request(url, list(SMS_PARAMS.items()), sign(url, SMS_PARAMS))
    caplog.set_level(logging.INFO, logger="gateway")

    assert not is_from_twilio(req, settings(auth_token=None))
    assert any("webhook_refused_no_auth_token" in r.getMessage() for r in caplog.records)


def test_disabled_validation_passes_unsigned_requests_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    req = form_request(f"{PUBLIC}/api/twilio/sms", list(SMS_PARAMS.items()), None)
    caplog.set_level(logging.INFO, logger="gateway")

    assert is_from_twilio(req, settings(validate_signatures=False, auth_token=None))
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def json_request(url: str, body: str, signature: str) -> func.HttpRequest:
    headers = {"Content-Type": "application/json", "X-Twilio-Signature": signature}
    return func.HttpRequest("POST", url, headers=headers, body=body.encode("utf-8"))


JSON_BODY = json.dumps({"MessageSid": "SM1", "MessageStatus": "delivered"})


def test_json_body_with_body_sha256_passes() -> None:
    digest = RequestValidator(TOKEN).compute_hash(JSON_BODY)
    url = f"{PUBLIC}/api/twilio/status?id=abc&bodySHA256={digest}"

    assert is_from_twilio(json_request(url, JSON_BODY, sign(url, {})), settings())


def test_json_body_that_does_not_match_body_sha256_fails() -> None:
    digest = RequestValidator(TOKEN).compute_hash(JSON_BODY)
    url = f"{PUBLIC}/api/twilio/status?id=abc&bodySHA256={digest}"
    tampered = JSON_BODY.replace("delivered", "failed")

    assert not is_from_twilio(json_request(url, tampered, sign(url, {})), settings())


def test_public_base_url_replaces_the_scheme_and_host_the_function_saw() -> None:
    signed_url = f"{PUBLIC}/api/twilio/status?id=abc"
    req = form_request(
        "http://internal:7071/api/twilio/status?id=abc",
        list(SMS_PARAMS.items()),
        sign(signed_url, SMS_PARAMS),
    )
    configured = settings(public_base_url=PUBLIC)

    assert public_url(req, configured) == signed_url
    assert is_from_twilio(req, configured)


def test_public_base_url_with_a_path_prefix_validates_the_callback_url_given_to_twilio() -> None:
    configured = settings(public_base_url=f"{PUBLIC}/gateway")
    callback = configured.status_callback_url("abc")
    assert callback == f"{PUBLIC}/gateway/api/twilio/status?id=abc"
    req = form_request(
        "http://internal:7071/api/twilio/status?id=abc",
        list(SMS_PARAMS.items()),
        sign(callback, SMS_PARAMS),
    )

    assert is_from_twilio(req, configured)


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example.com"}


@pytest.mark.parametrize(("trusted", "valid"), [(True, True), (False, False)])
def test_forwarded_headers_count_only_when_trusted(trusted: bool, valid: bool) -> None:
    signed_url = f"{PUBLIC}/api/twilio/sms"
    req = form_request(
        "http://internal:7071/api/twilio/sms",
        list(SMS_PARAMS.items()),
        sign(signed_url, SMS_PARAMS),
        headers=FORWARDED,
    )

    assert is_from_twilio(req, settings(trust_forwarded_headers=trusted)) is valid


def test_request_url_is_used_when_nothing_rewrites_it() -> None:
    url = "http://127.0.0.1:7071/api/twilio/sms"
    req = form_request(url, list(SMS_PARAMS.items()), sign(url, SMS_PARAMS), headers=FORWARDED)

    assert is_from_twilio(req, settings())


MEDIA_PAIRS = [
    ("MessageSid", "MM1"),
    ("NumMedia", "2"),
    ("MediaUrl", "https://media.example.com/b"),
    ("MediaUrl", "https://media.example.com/a"),
]


def test_repeated_form_parameters_validate() -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    req = form_request(url, MEDIA_PAIRS, sign(url, MultiDict(MEDIA_PAIRS)))

    assert is_from_twilio(req, settings())


def test_signature_over_only_the_first_repeated_value_fails() -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    req = form_request(url, MEDIA_PAIRS, sign(url, dict(MEDIA_PAIRS[:3])))

    assert not is_from_twilio(req, settings())


def test_each_refusal_has_its_own_reason() -> None:
    url = f"{PUBLIC}/api/twilio/sms"
    unsigned = form_request(url, list(SMS_PARAMS.items()), None)
    wrong = form_request(url, list(SMS_PARAMS.items()), "bm90IGl0")

    reasons = [
        refusal(unsigned, settings()),
        refusal(wrong, settings()),
        refusal(wrong, settings(auth_token=None)),
    ]

    assert reasons == [MISSING, MISMATCH, NO_AUTH_TOKEN]
    assert "/api/preview/" in MISSING


def test_mismatch_logs_the_url_it_checked_and_the_url_received(
    caplog: pytest.LogCaptureFixture,
) -> None:
    signed_for = "http://localhost:7071/api/twilio/sms"
    req = form_request(
        "http://localhost:7071/api/twilio/sms",
        list(SMS_PARAMS.items()),
        sign(signed_for, SMS_PARAMS),
    )
    caplog.set_level(logging.INFO, logger="gateway")

    assert refusal(req, settings(public_base_url="http://127.0.0.1:7071")) == MISMATCH
    line = next(r.getMessage() for r in caplog.records if "signature_invalid" in r.getMessage())
    assert "http://127.0.0.1:7071/api/twilio/sms" in line
    assert "http://localhost:7071/api/twilio/sms" in line


@pytest.mark.parametrize("host", ["x:abc", "x:99999", "[", "x:0", "a b", "host/evil", "\u0665"])
def test_bad_forwarded_host_is_refused_naming_the_header(host: str) -> None:
    url = "http://internal:7071/api/twilio/sms"
    req = form_request(url, list(SMS_PARAMS.items()), "c2ln", headers={"X-Forwarded-Host": host})

    reason = refusal(req, settings(trust_forwarded_headers=True))

    assert reason is not None and reason.startswith(("X-Forwarded-Host", "the host"))


def test_forwarded_proto_other_than_http_or_https_is_refused() -> None:
    url = "http://internal:7071/api/twilio/sms"
    headers = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "public.example.com"}
    req = form_request(url, list(SMS_PARAMS.items()), "c2ln", headers=headers)

    reason = refusal(req, settings(trust_forwarded_headers=True))

    assert reason is not None and reason.startswith("X-Forwarded-Proto")


@pytest.mark.parametrize("host", ["public.example.com:8443", "[::1]:7071", "gw_1.example"])
def test_forwarded_host_with_a_port_or_an_ipv6_address_is_checked(host: str) -> None:
    signed_url = f"https://{host}/api/twilio/sms"
    req = form_request(
        "http://internal:7071/api/twilio/sms",
        list(SMS_PARAMS.items()),
        sign(signed_url, SMS_PARAMS),
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": host},
    )

    assert refusal(req, settings(trust_forwarded_headers=True)) is None
