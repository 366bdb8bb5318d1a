"""The gateway on a storage account with shared keys off: identity settings, bearer tokens.

Azurite runs with HTTPS and ``--oauth basic``; the app is configured with the
``AzureWebJobsStorage__*`` settings the official templates use, and its managed identity is
stood in for by a token credential (no identity endpoint here).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from localdev.azurite import ACCOUNT_NAME, Azurite
from shared.delivery.services import get_services, reset_services
from shared.platform.storage_connection import StorageConnection
from shared.twilio.sender import TwilioSender
from tests.integration.conftest import Gateway, fresh_gateway_settings
from tests.support.app import user_function
from tests.support.entra_storage import (
    StandInIdentity,
    trust_for_aiohttp,
    write_self_signed_certificate,
)
from tests.support.fake_twilio import FakeTwilio
from tests.support.requests import api_post

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyless_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    cert, key = write_self_signed_certificate(tmp_path_factory.mktemp("tls"))
    trust_for_aiohttp(cert)
    with Azurite(extra_args=("--oauth", "basic", "--cert", str(cert), "--key", str(key))) as run:
        yield run


@pytest.fixture
def identity_env(keyless_azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "AzureWebJobsStorage__queueServiceUri": (
            f"https://127.0.0.1:{keyless_azurite.queue_port}/{ACCOUNT_NAME}"
        ),
        "AzureWebJobsStorage__tableServiceUri": (
            f"https://127.0.0.1:{keyless_azurite.table_port}/{ACCOUNT_NAME}"
        ),
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-0000000000c1",
        **fresh_gateway_settings(),
    }
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def stand_in(monkeypatch: pytest.MonkeyPatch, identity: StandInIdentity) -> None:
    monkeypatch.setattr(StorageConnection, "credential", lambda self: identity)


@pytest.fixture
async def identity_gateway(
    identity_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Gateway, StandInIdentity]]:
    identity = StandInIdentity()
    stand_in(monkeypatch, identity)
    await reset_services()
    services = await get_services()
    fake = FakeTwilio()
    services.use_sender(TwilioSender(services.settings, http_client=fake))
    yield Gateway(services, fake), identity
    await reset_services()


async def test_send_goes_through_queue_and_log_with_the_identity(
    identity_gateway: tuple[Gateway, StandInIdentity],
) -> None:
    gateway, identity = identity_gateway

    await user_function("send_message")(api_post("messages", {"to": "+15551234567", "body": "hi"}))
    (message,) = await gateway.queued_messages()
    await user_function("outbound_worker")(message)

    record = await gateway.services.log.get(json.loads(message.get_body())["id"])
    assert record is not None and record.status == "queued" and record.twilio_sid
    assert gateway.services.settings.storage_connection.identity_based
    assert set(identity.scopes) == {"https://storage.azure.com/.default"}


async def test_closing_the_services_closes_the_identity(
    identity_gateway: tuple[Gateway, StandInIdentity],
) -> None:
    _, identity = identity_gateway

    await reset_services()

    assert identity.closed


# azure-data-tables reads the XML error body with a truth test that Python 3.12+ deprecates.
@pytest.mark.filterwarnings("ignore:Testing an element's truth value:DeprecationWarning")
async def test_storage_refuses_an_expired_token(
    identity_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator really checks the token, so the test above could fail."""
    stand_in(monkeypatch, StandInIdentity(lifetime_seconds=-600))
    await reset_services()

    with pytest.raises((ClientAuthenticationError, HttpResponseError)) as info:
        await get_services()

    assert "expired" in str(info.value).lower()
    await reset_services()
