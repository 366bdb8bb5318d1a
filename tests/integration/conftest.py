"""The app's functions in process against a real Azurite, with Twilio's transport faked."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import azure.functions as func
import pytest
from azure.storage.queue.aio import QueueClient

from shared.delivery.services import Services, get_services, reset_services
from shared.twilio.sender import TwilioSender
from tests.support.fake_twilio import FakeTwilio
from tests.support.requests import trigger_message

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://gateway.example.com"


@dataclass
class Gateway:
    services: Services
    twilio: FakeTwilio

    async def reload(self) -> None:
        """Read settings again (after a test changed the environment), keeping the fake."""
        await reset_services()
        self.services = await get_services()
        self.services.use_sender(TwilioSender(self.services.settings, http_client=self.twilio))

    @property
    def queue(self) -> QueueClient:
        return self.services.queue

    async def queued_messages(self) -> list[func.QueueMessage]:
        """Drain the outbound queue into trigger-shaped messages, as the host would."""
        drained: list[func.QueueMessage] = []
        async for message in self.queue.receive_messages(visibility_timeout=30):
            body = str(message.content).encode()
            drained.append(trigger_message(message.id, body, message.dequeue_count or 1))
            await self.queue.delete_message(message)
        return drained


def fresh_gateway_settings() -> dict[str, str]:
    """Twilio's settings and a queue and tables of the test's own; storage is the caller's."""
    suffix = secrets.token_hex(4)
    return {
        "OUTBOUND_QUEUE": f"outbound-{suffix}",
        "MESSAGE_LOG_TABLE": f"MessageLog{suffix}",
        "MESSAGE_INDEX_TABLE": f"MessageIndex{suffix}",
        "MESSAGE_STATS_TABLE": f"MessageStats{suffix}",
        "OPT_OUT_TABLE": f"OptOuts{suffix}",
        "RETENTION_TABLE": f"Retention{suffix}",
        "NUMBER_HASH_KEY": secrets.token_hex(32),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
    }


@pytest.fixture
def gateway_env(storage_connection_string: str) -> dict[str, str]:
    return {
        "AzureWebJobsStorage": storage_connection_string,
        **fresh_gateway_settings(),
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
    }


@pytest.fixture
async def gateway(
    gateway_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Gateway]:
    for name, value in gateway_env.items():
        monkeypatch.setenv(name, value)
    await reset_services()
    services = await get_services()
    fake = FakeTwilio()
    services.use_sender(TwilioSender(services.settings, http_client=fake))
    yield Gateway(services, fake)
    await reset_services()
