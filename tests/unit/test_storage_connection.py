"""The storage connection: every shape the Functions host accepts, and what a wrong one says.

Clients are constructed (not used), so the endpoint and credential they would use are visible
without a network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from shared.platform.errors import InvalidSettingError, MissingSettingError, SettingsError
from shared.platform.settings import load_settings
from shared.platform.storage_connection import StorageConnection, load_storage_connection

AZURITE = "UseDevelopmentStorage=true"
ACCOUNT_KEY = "c2VjcmV0LWtleQ=="
CONNECTION_STRING = (
    f"DefaultEndpointsProtocol=https;AccountName=gwstore;AccountKey={ACCOUNT_KEY};"
    "EndpointSuffix=core.windows.net"
)
CLIENT_ID = "00000000-0000-0000-0000-0000000000c1"


def error_for(**env: str) -> SettingsError:
    with pytest.raises(SettingsError) as info:
        load_storage_connection(env)
    return info.value


async def endpoints(connection: StorageConnection) -> tuple[str, str]:
    """The queue URL and table service URL the app's clients would call."""
    credential = connection.credential() if connection.identity_based else None
    tables = connection.table_service(credential)
    queue = connection.queue("outbound", credential)
    try:
        return queue.url, tables.url
    finally:
        await queue.close()
        await tables.close()
        if credential is not None:
            await credential.close()


@pytest.fixture
async def closing() -> AsyncIterator[list[object]]:
    """Credentials a test creates, closed after it."""
    created: list[object] = []
    yield created
    for credential in created:
        await credential.close()  # type: ignore[attr-defined]


async def test_azurite_shortcut_reaches_the_local_emulator() -> None:
    connection = load_storage_connection({"AzureWebJobsStorage": AZURITE})

    assert not connection.identity_based
    queue_url, table_url = await endpoints(connection)
    assert queue_url == "http://127.0.0.1:10001/devstoreaccount1/outbound"
    assert table_url.startswith("http://127.0.0.1:10002/devstoreaccount1")


async def test_account_key_connection_string_reaches_that_account() -> None:
    connection = load_storage_connection({"AzureWebJobsStorage": CONNECTION_STRING})

    queue_url, table_url = await endpoints(connection)
    assert queue_url == "https://gwstore.queue.core.windows.net/outbound"
    assert table_url.startswith("https://gwstore.table.core.windows.net")


async def test_account_name_with_managed_identity_builds_public_endpoints(
    closing: list[object],
) -> None:
    connection = load_storage_connection(
        {
            "AzureWebJobsStorage__accountName": "gwstore",
            "AzureWebJobsStorage__credential": "managedidentity",
        }
    )

    assert connection.identity_based and connection.managed_identity
    assert connection.client_id is None
    queue_url, table_url = await endpoints(connection)
    assert queue_url == "https://gwstore.queue.core.windows.net/outbound"
    assert table_url.startswith("https://gwstore.table.core.windows.net")
    credential = connection.credential()
    closing.append(credential)
    assert isinstance(credential, ManagedIdentityCredential)


def test_client_id_selects_the_user_assigned_identity(closing: list[object]) -> None:
    connection = load_storage_connection(
        {
            "AzureWebJobsStorage__accountName": "gwstore",
            "AzureWebJobsStorage__credential": "ManagedIdentity",
            "AzureWebJobsStorage__clientId": CLIENT_ID,
        }
    )

    credential = connection.credential()
    closing.append(credential)
    assert isinstance(credential, ManagedIdentityCredential)
    assert connection.client_id == CLIENT_ID


async def test_service_uris_are_used_as_given(closing: list[object]) -> None:
    connection = load_storage_connection(
        {
            "AzureWebJobsStorage__queueServiceUri": "https://q.example.net/",
            "AzureWebJobsStorage__tableServiceUri": "https://t.example.net",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": CLIENT_ID,
        }
    )

    queue_url, table_url = await endpoints(connection)
    assert queue_url == "https://q.example.net/outbound"
    assert table_url.startswith("https://t.example.net")


async def test_service_uris_override_the_account_name() -> None:
    connection = load_storage_connection(
        {
            "AzureWebJobsStorage__accountName": "gwstore",
            "AzureWebJobsStorage__queueServiceUri": "https://gwstore-secondary.queue.example.net",
        }
    )

    assert connection.queue_service_uri == "https://gwstore-secondary.queue.example.net"
    assert connection.table_service_uri == "https://gwstore.table.core.windows.net"


def test_without_credential_setting_the_default_chain_is_used(closing: list[object]) -> None:
    connection = load_storage_connection({"AzureWebJobsStorage__accountName": "gwstore"})

    credential = connection.credential()
    closing.append(credential)
    assert isinstance(credential, DefaultAzureCredential)
    assert not connection.managed_identity


def test_connection_string_wins_over_identity_settings_as_in_the_host() -> None:
    connection = load_storage_connection(
        {"AzureWebJobsStorage": AZURITE, "AzureWebJobsStorage__accountName": "gwstore"}
    )

    assert connection.connection_string == AZURITE
    assert connection.queue_service_uri is None


def test_settings_carry_the_identity_based_connection() -> None:
    settings = load_settings({"AzureWebJobsStorage__accountName": "gwstore"})

    assert settings.storage_connection.queue_service_uri == "https://gwstore.queue.core.windows.net"


@pytest.mark.parametrize(
    "env",
    [{}, {"AzureWebJobsStorage": "  "}, {"AzureWebJobsStorage__accountName": ""}],
    ids=["absent", "blank", "blank-account"],
)
def test_nothing_set_names_both_ways_to_connect(env: dict[str, str]) -> None:
    error = error_for(**env)

    assert isinstance(error, MissingSettingError)
    assert error.name == "AzureWebJobsStorage"
    assert "AzureWebJobsStorage__accountName" in str(error)


def test_only_a_queue_uri_asks_for_the_table_uri() -> None:
    error = error_for(AzureWebJobsStorage__queueServiceUri="https://q.example.net")

    assert isinstance(error, MissingSettingError)
    assert error.name == "AzureWebJobsStorage__tableServiceUri"


@pytest.mark.parametrize(
    "name", ["GwStore", "gw", "gw-store", "g" * 25, "gwstore\nx", "gwstore\u0661"]
)
def test_malformed_account_name_is_refused(name: str) -> None:
    error = error_for(AzureWebJobsStorage__accountName=name)

    assert isinstance(error, InvalidSettingError)
    assert error.name == "AzureWebJobsStorage__accountName"


@pytest.mark.parametrize(
    "uri", ["http://q.example.net", "q.example.net", "https://q.example.net/?sv=sas", "https://"]
)
def test_service_uri_must_be_https(uri: str) -> None:
    error = error_for(
        AzureWebJobsStorage__queueServiceUri=uri,
        AzureWebJobsStorage__tableServiceUri="https://t.example.net",
    )

    assert isinstance(error, InvalidSettingError)
    assert error.name == "AzureWebJobsStorage__queueServiceUri"
    assert "https" in str(error)


def test_credential_other_than_managed_identity_is_refused() -> None:
    error = error_for(
        AzureWebJobsStorage__accountName="gwstore", AzureWebJobsStorage__credential="secret"
    )

    assert isinstance(error, InvalidSettingError)
    assert error.name == "AzureWebJobsStorage__credential"
    assert "managedidentity" in str(error)


@pytest.mark.parametrize(
    "value",
    ["not a connection string", "AccountKey=abc;Foo", "DefaultEndpointsProtocol=https;" + "=x"],
)
def test_malformed_connection_string_is_refused_without_echoing_it(value: str) -> None:
    error = error_for(AzureWebJobsStorage=value)

    assert isinstance(error, InvalidSettingError)
    assert error.name == "AzureWebJobsStorage"
    assert value not in str(error)


def test_connection_string_naming_no_account_is_refused_without_the_key() -> None:
    error = error_for(AzureWebJobsStorage=f"AccountKey={ACCOUNT_KEY}")

    assert "names no account" in str(error)
    assert ACCOUNT_KEY not in str(error)


def test_connection_string_is_not_in_repr() -> None:
    connection = load_storage_connection({"AzureWebJobsStorage": CONNECTION_STRING})

    assert ACCOUNT_KEY not in repr(connection)
