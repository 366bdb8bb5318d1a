"""The storage connection, named and shaped the way the Functions host reads it.

``AzureWebJobsStorage`` is either a connection string (Azurite's ``UseDevelopmentStorage=true``
included) or, for an identity-based connection, a group of ``AzureWebJobsStorage__*`` settings:
``accountName``, or ``queueServiceUri`` and ``tableServiceUri``; ``credential=managedidentity``
with an optional ``clientId`` for a user-assigned identity. The host triggers the worker from
the same settings, so the app's own Table and Queue clients follow the same rules: one
configuration, one storage account. As in the host, a connection string wins when both are set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.platform.errors import InvalidSettingError, MissingSettingError

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.data.tables.aio import TableServiceClient
    from azure.storage.queue.aio import QueueClient

NAME = "AzureWebJobsStorage"
MANAGED_IDENTITY = "managedidentity"
_ACCOUNT_NAME = re.compile(r"[a-z0-9]{3,24}")
_SERVICE_URI = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s?#]*)?")
_CONNECTION_KEYS = ("UseDevelopmentStorage", "AccountName", "QueueEndpoint", "TableEndpoint")


# Clients skip the proxy and netrc lookups azure-core would otherwise make from the
# environment on every request: they cost a thread hop each.
@dataclass(frozen=True)
class StorageConnection:
    """Either ``connection_string``, or both service URIs with an identity to reach them."""

    connection_string: str | None = field(default=None, repr=False)
    queue_service_uri: str | None = None
    table_service_uri: str | None = None
    managed_identity: bool = False
    client_id: str | None = None

    @property
    def identity_based(self) -> bool:
        return self.connection_string is None

    def credential(self) -> AsyncTokenCredential:
        """A new token credential: the managed identity when the settings name one, else the
        same chain as the host's default (environment, workload and managed identity, the
        developer's ``az login``)."""
        if self.managed_identity:
            from azure.identity.aio import ManagedIdentityCredential

            return ManagedIdentityCredential(client_id=self.client_id)
        from azure.identity.aio import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=self.client_id)

    def table_service(self, credential: AsyncTokenCredential | None) -> TableServiceClient:
        from azure.data.tables.aio import TableServiceClient

        if self.connection_string is not None:
            return TableServiceClient.from_connection_string(
                self.connection_string, use_env_settings=False
            )
        assert self.table_service_uri is not None
        return TableServiceClient(
            self.table_service_uri, credential=credential, use_env_settings=False
        )

    def queue(self, name: str, credential: AsyncTokenCredential | None) -> QueueClient:
        from azure.storage.queue.aio import QueueClient

        if self.connection_string is not None:
            return QueueClient.from_connection_string(
                self.connection_string, name, use_env_settings=False
            )
        assert self.queue_service_uri is not None
        return QueueClient(
            self.queue_service_uri, name, credential=credential, use_env_settings=False
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _check_connection_string(value: str) -> str:
    """Catch what would otherwise fail on the first request; never echo the value (a key)."""
    pairs = [part.split("=", 1) for part in value.split(";") if part.strip()]
    if not pairs or any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
        raise InvalidSettingError(
            NAME, "expected a connection string of key=value pairs separated by ';'"
        )
    keys = {key.strip().lower() for key, _ in pairs}
    if not any(key.lower() in keys for key in _CONNECTION_KEYS):
        raise InvalidSettingError(
            NAME,
            "the connection string names no account: expected UseDevelopmentStorage=true or "
            "AccountName=... (or QueueEndpoint and TableEndpoint)",
        )
    return value


def _service_uri(env: Mapping[str, str], service: str, account: str | None) -> str:
    name = f"{NAME}__{service}ServiceUri"
    uri = _text(env, name)
    if uri is None:
        if account is None:
            raise MissingSettingError(
                name,
                f"an identity-based connection needs {NAME}__accountName, or both "
                f"{NAME}__queueServiceUri and {NAME}__tableServiceUri",
            )
        return f"https://{account}.{service}.core.windows.net"
    if not _SERVICE_URI.fullmatch(uri):
        raise InvalidSettingError(
            name, f"expected an https URL like https://<account>.{service}.core.windows.net"
        )
    return uri.rstrip("/")


def load_storage_connection(env: Mapping[str, str]) -> StorageConnection:
    connection_string = _text(env, NAME)
    if connection_string is not None:
        return StorageConnection(connection_string=_check_connection_string(connection_string))
    prefix = f"{NAME}__"
    if not any(key.startswith(prefix) and value.strip() for key, value in env.items()):
        raise MissingSettingError(
            NAME,
            "set a connection string, or AzureWebJobsStorage__accountName "
            "(with AzureWebJobsStorage__credential=managedidentity) for an identity-based one",
        )
    account = _text(env, f"{prefix}accountName")
    if account is not None and not _ACCOUNT_NAME.fullmatch(account):
        raise InvalidSettingError(
            f"{prefix}accountName", "a storage account name is 3-24 lowercase letters and digits"
        )
    credential = _text(env, f"{prefix}credential")
    if credential is not None and credential.lower() != MANAGED_IDENTITY:
        raise InvalidSettingError(
            f"{prefix}credential", f"the only accepted value is {MANAGED_IDENTITY}"
        )
    return StorageConnection(
        queue_service_uri=_service_uri(env, "queue", account),
        table_service_uri=_service_uri(env, "table", account),
        managed_identity=credential is not None,
        client_id=_text(env, f"{prefix}clientId"),
    )
