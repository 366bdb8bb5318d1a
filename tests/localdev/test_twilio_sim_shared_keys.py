"""The simulator signs like a webhook rule with a shared key: HMAC-SHA256, the key named in
X-Twilio-Webhooks-Signature-Settings; checked here with ``hmac``, not the twilio library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from localdev.twilio_sim import SimConfig, SimulatorServer
from localdev.twilio_sim.config import ConfigError
from localdev.twilio_sim.testing import WebhookReceiver

KEY_ID = "webhooks_sharedkey_sim"
SECRET = "sim-shared-secret"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.01, webhook_key_id=KEY_ID, webhook_key_secret=SECRET)


@pytest.fixture
async def app(sim: SimulatorServer) -> AsyncIterator[WebhookReceiver]:
    keys = {KEY_ID: SECRET, "other": "other-secret"}
    async with WebhookReceiver(sim.state.config.auth_token, shared_keys=keys) as receiver:
        yield receiver


def hmac_sha256(secret: str, url: str, params: dict[str, str]) -> str:
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), "sha256").digest()).decode()


async def post(control: aiohttp.ClientSession, path: str, payload: dict[str, Any]) -> int:
    async with control.post(path, json=payload) as response:
        return response.status


async def test_configured_shared_key_signs_every_webhook(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    payload = {"url": app.url("/sms"), "from": "+15558675310", "to": "+15005550006", "body": "hi"}
    assert await post(control, "/_sim/inbound/sms", payload) == 200

    [request] = app.received("/sms")

    assert request.headers[SETTINGS_HEADER] == f"key={KEY_ID},algorithm=HMAC_SHA256"
    assert request.signature == hmac_sha256(SECRET, request.url, request.params)
    assert request.signature_valid


async def test_generic_webhook_signs_a_json_body_by_its_hash_with_the_given_key(
    control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    document = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signing = {"key_id": "other", "secret": "other-secret", "algorithm": "HMAC_SHA256"}
    payload = {"url": app.url("/status?id=a"), "json": document, "signing": signing}
    assert await post(control, "/_sim/webhook", payload) == 200

    [request] = app.received("/status")

    assert json.loads(request.body) == document
    assert request.url.endswith(f"&bodySHA256={hashlib.sha256(request.body.encode()).hexdigest()}")
    assert request.headers[SETTINGS_HEADER] == "key=other,algorithm=HMAC_SHA256"
    assert request.signature == hmac_sha256("other-secret", request.url, {})
    assert request.signature_valid


def test_key_id_without_its_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SIM_WEBHOOK_KEY_SECRET"):
        SimConfig.from_env({"SIM_WEBHOOK_KEY_ID": KEY_ID})
