"""Standard Webhooks signatures, checked with the package's own verifier."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.publish.signing import InvalidWebhookSecretError, signature_headers, signer
from tests.support.event_destinations import WEBHOOK_SECRET, WEBHOOK_SECRET_2

BODY = '{"id":"evt-1","type":"x"}'


def test_headers_carry_the_event_id_and_a_v1_signature() -> None:
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET])

    assert headers["webhook-id"] == "evt-1"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["webhook-timestamp"].isdigit()


@pytest.mark.parametrize("secret", [WEBHOOK_SECRET, WEBHOOK_SECRET_2])
def test_with_two_secrets_either_one_verifies(secret: str) -> None:
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET, WEBHOOK_SECRET_2])

    assert Webhook(secret).verify(BODY, headers) == {"id": "evt-1", "type": "x"}


def test_one_signature_per_secret_separated_by_a_space() -> None:
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET, WEBHOOK_SECRET_2])

    assert len(headers["webhook-signature"].split(" ")) == 2


def test_a_changed_body_does_not_verify() -> None:
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET])

    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET).verify(BODY.replace("x", "y"), headers)


def test_another_secret_does_not_verify() -> None:
    headers = signature_headers("evt-1", BODY, [WEBHOOK_SECRET])

    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET_2).verify(BODY, headers)


@pytest.mark.parametrize("secret", ["", "plain-text", "whsec_", "whsec_!!!not base64!!!"])
def test_an_unusable_secret_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(InvalidWebhookSecretError) as refused:
        signer(secret)

    assert secret[6:] not in str(refused.value) or not secret[6:]


def test_no_secret_at_all_is_refused() -> None:
    with pytest.raises(InvalidWebhookSecretError, match="at least one secret"):
        signature_headers("evt-1", BODY, [])
