"""Standard Webhooks signatures (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)
through the ``standardwebhooks`` package, so a receiver verifies with the same library (or any
other implementation of the spec) and nothing here re-implements the HMAC."""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

SECRET_PREFIX = "whsec_"


class InvalidWebhookSecretError(ValueError):
    """A secret that is not ``whsec_`` followed by base64 of at least one byte."""


def signer(secret: str) -> Webhook:
    """The package's signer for one secret; an unusable secret is refused, never echoed."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecretError("a webhook secret starts with whsec_ (then base64)")
    try:
        return Webhook(secret)
    except (binascii.Error, ValueError, EmptyWebhookSecretError):
        raise InvalidWebhookSecretError(
            "a webhook secret is whsec_ followed by base64 of at least one byte"
        ) from None


def signature_headers(
    event_id: str, body: str, secrets: Sequence[str], *, at: datetime | None = None
) -> dict[str, str]:
    """The three headers for ``body`` as sent: one ``v1,<sig>`` per secret, space-separated,
    so a receiver holding either the old or the new secret accepts it during a rotation."""
    if not secrets:
        raise InvalidWebhookSecretError("a webhook is signed with at least one secret")
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    signatures = [signer(secret).sign(event_id, moment, body) for secret in secrets]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
