"""The webhook receiver over raw HTTP: signatures checked with standardwebhooks, faults."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from localdev.azurite import PROJECT_ROOT
from shared.publish.signing import signature_headers
from tests.support.event_destinations import (
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_2,
    WebhookReceiverProcess,
)

BODY = json.dumps({"id": "evt-1", "type": "t"})


@pytest.fixture
async def http(
    webhook_receiver: WebhookReceiverProcess,
) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=webhook_receiver.base_url) as session:
        yield session


async def deliver(http: aiohttp.ClientSession, path: str, headers: dict[str, str]) -> int:
    async with http.post(path, data=BODY, headers=headers) as answer:
        return answer.status


@pytest.mark.parametrize("secret", [WEBHOOK_SECRET, WEBHOOK_SECRET_2])
async def test_a_valid_signature_with_either_secret_is_204(
    webhook_receiver: WebhookReceiverProcess, http: aiohttp.ClientSession, secret: str
) -> None:
    assert await deliver(http, "/events", signature_headers("evt-1", BODY, [secret])) == 204

    [entry] = webhook_receiver.received()
    assert (entry["verified"], entry["status"], entry["path"]) == (True, 204, "/events")


async def test_a_bad_signature_is_401_and_kept_unverified(
    webhook_receiver: WebhookReceiverProcess, http: aiohttp.ClientSession
) -> None:
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET])
    headers["webhook-signature"] = "v1,AAAA"

    assert await deliver(http, "/events", headers) == 401
    [entry] = webhook_receiver.received()
    assert entry["verified"] is False and entry["problem"]


async def test_missing_signature_headers_are_401(http: aiohttp.ClientSession) -> None:
    assert await deliver(http, "/events", {}) == 401


async def test_a_garbled_signature_header_is_401_not_an_error(http: aiohttp.ClientSession) -> None:
    headers = {**signature_headers("evt-1", BODY, [WEBHOOK_SECRET]), "webhook-signature": "x"}

    assert await deliver(http, "/events", headers) == 401


async def test_a_410_for_one_path_leaves_the_others_alone(
    webhook_receiver: WebhookReceiverProcess, http: aiohttp.ClientSession
) -> None:
    webhook_receiver.fault(status=410, path="/gone")
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET])

    assert await deliver(http, "/gone", headers) == 410
    assert await deliver(http, "/here", headers) == 204
    assert [e["path"] for e in webhook_receiver.delivered()] == ["/here"]


async def test_a_503_for_a_while_with_retry_after(
    webhook_receiver: WebhookReceiverProcess, http: aiohttp.ClientSession
) -> None:
    webhook_receiver.fault(status=503, seconds=600, retry_after="30")
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET])

    async with http.post("/events", data=BODY, headers=headers) as answer:
        assert (answer.status, answer.headers["Retry-After"]) == (503, "30")


async def test_slow_answers_are_slow(
    webhook_receiver: WebhookReceiverProcess, http: aiohttp.ClientSession
) -> None:
    webhook_receiver.fault(delay_seconds=2)

    with pytest.raises(TimeoutError):
        async with http.post("/events", data=BODY, timeout=aiohttp.ClientTimeout(total=0.5)):
            pass


async def test_delete_received_forgets_everything(
    webhook_receiver: WebhookReceiverProcess, http: aiohttp.ClientSession
) -> None:
    await deliver(http, "/events", {})

    webhook_receiver.clear()

    assert webhook_receiver.received() == []


def test_an_unusable_secret_stops_it_at_start_without_echoing_it() -> None:
    command = [sys.executable, "-m", "localdev.webhook_receiver", "--port", "0"]
    done = subprocess.run(
        [*command, "--secret", "whsec_"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )

    assert done.returncode == 2
    assert "cannot start" in done.stdout + done.stderr
