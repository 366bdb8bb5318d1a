"""The webhook sender against the receiver stand-in over HTTP: signatures an independent
verifier accepts, every answer's outcome, redirects and private addresses refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from localdev.ports import free_port
from shared.publish.outcome import Delivered, Gone, Refused, RetryLater
from shared.publish.webhook import WebhookSender
from tests.support.event_destinations import (
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_2,
    WebhookReceiverProcess,
)
from tests.support.fixed_resolver import FixedResolver

EVENT: dict[str, Any] = {
    "specversion": "1.0",
    "id": "evt-1",
    "source": "https://gw.example.com",
    "type": "com.example.gateway.sms.delivered",
    "subject": "msg-1",
    "data": {"messageId": "msg-1", "message": "héllo"},
}
BOTH = [WEBHOOK_SECRET, WEBHOOK_SECRET_2]


@pytest.fixture
async def sender() -> AsyncIterator[WebhookSender]:
    """Allowed to reach this machine, as on the local stack."""
    made = WebhookSender(timeout_seconds=5, allow_private_addresses=True)
    yield made
    await made.close()


async def test_a_signed_event_is_delivered_and_kept_as_sent(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender
) -> None:
    outcome = await sender.send(webhook_receiver.url("/events"), EVENT, BOTH)

    assert outcome == Delivered(204)
    [entry] = webhook_receiver.received()
    assert entry["verified"] is True
    assert entry["event"] == EVENT
    assert entry["headers"]["webhook-id"] == "evt-1"


@pytest.mark.parametrize("secret", [WEBHOOK_SECRET, WEBHOOK_SECRET_2])
async def test_the_signature_verifies_with_standardwebhooks_for_each_of_two_secrets(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender, secret: str
) -> None:
    await sender.send(webhook_receiver.url("/events"), EVENT, BOTH)

    [entry] = webhook_receiver.received()
    assert Webhook(secret).verify(entry["body"], entry["headers"]) == EVENT


async def test_a_signature_with_a_secret_the_receiver_does_not_hold_is_refused(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender
) -> None:
    other = "whsec_" + "b3RoZXItc2VjcmV0LW5vdC1oZWxkLWJ5LXRoZW0="

    outcome = await sender.send(webhook_receiver.url("/events"), EVENT, [other])

    assert isinstance(outcome, Refused) and "401" in outcome.reason
    assert webhook_receiver.received()[0]["verified"] is False


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503])
async def test_throttling_and_server_errors_are_retried(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender, status: int
) -> None:
    webhook_receiver.fault(status=status)

    assert isinstance(await sender.send(webhook_receiver.url(), EVENT, BOTH), RetryLater)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
async def test_other_client_errors_are_refused(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender, status: int
) -> None:
    webhook_receiver.fault(status=status)

    assert isinstance(await sender.send(webhook_receiver.url(), EVENT, BOTH), Refused)


async def test_retry_after_in_seconds_is_honoured(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender
) -> None:
    webhook_receiver.fault(status=429, retry_after="42")

    outcome = await sender.send(webhook_receiver.url(), EVENT, BOTH)

    assert isinstance(outcome, RetryLater)
    assert outcome.retry_after_seconds == 42.0


async def test_retry_after_as_an_http_date_is_honoured(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(minutes=5), usegmt=True)
    webhook_receiver.fault(status=503, retry_after=later)

    outcome = await sender.send(webhook_receiver.url(), EVENT, BOTH)

    assert isinstance(outcome, RetryLater)
    assert outcome.retry_after_seconds is not None
    assert 0 < outcome.retry_after_seconds <= 300


async def test_a_410_on_one_path_is_gone_and_another_path_still_delivers(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender
) -> None:
    webhook_receiver.fault(status=410, path="/hooks/old")

    assert isinstance(await sender.send(webhook_receiver.url("/hooks/old"), EVENT, BOTH), Gone)
    assert await sender.send(webhook_receiver.url("/hooks/new"), EVENT, BOTH) == Delivered(204)


async def test_a_redirect_is_not_followed(
    webhook_receiver: WebhookReceiverProcess, sender: WebhookSender
) -> None:
    webhook_receiver.fault(status=307, location=webhook_receiver.url("/elsewhere"), path="/a")

    outcome = await sender.send(webhook_receiver.url("/a"), EVENT, BOTH)

    assert isinstance(outcome, Refused) and "not followed" in outcome.reason
    assert [entry["path"] for entry in webhook_receiver.received()] == ["/a"]


async def test_a_slow_answer_is_a_timeout_to_retry(
    webhook_receiver: WebhookReceiverProcess,
) -> None:
    webhook_receiver.fault(delay_seconds=3)
    impatient = WebhookSender(timeout_seconds=0.5, allow_private_addresses=True)
    try:
        outcome = await impatient.send(webhook_receiver.url(), EVENT, BOTH)
    finally:
        await impatient.close()

    assert isinstance(outcome, RetryLater) and "did not answer" in outcome.reason


async def test_nothing_listening_is_retried(sender: WebhookSender) -> None:
    outcome = await sender.send(f"http://127.0.0.1:{free_port()}/x", EVENT, BOTH)

    assert isinstance(outcome, RetryLater) and "could not be reached" in outcome.reason


async def test_a_name_resolving_to_loopback_is_refused_and_never_reached(
    webhook_receiver: WebhookReceiverProcess,
) -> None:
    port = webhook_receiver.base_url.rsplit(":", 1)[1]
    strict = WebhookSender(timeout_seconds=5)
    try:
        outcome = await strict.send(f"https://localhost:{port}/events", EVENT, BOTH)
    finally:
        await strict.close()

    assert isinstance(outcome, Refused) and "resolves to a loopback address" in outcome.reason
    assert webhook_receiver.received() == []


async def test_the_request_goes_to_the_address_that_was_checked(
    webhook_receiver: WebhookReceiverProcess,
) -> None:
    port = webhook_receiver.base_url.rsplit(":", 1)[1]
    resolver = FixedResolver("127.0.0.1")
    pinned = WebhookSender(allow_private_addresses=True, resolver=resolver)
    try:
        outcome = await pinned.send(f"http://hooks.invalid:{port}/events", EVENT, BOTH)
    finally:
        await pinned.close()

    assert outcome == Delivered(204)
    assert resolver.asked == ["hooks.invalid"]
    assert json.loads(webhook_receiver.received()[0]["body"]) == EVENT
