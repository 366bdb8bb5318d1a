"""The counting proxy in front of Azurite: signed SDK requests pass through, each counted."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from azure.core import MatchConditions
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

from localdev.azurite import Azurite
from localdev.fault_proxy import FaultProxy, ProxyConfig
from localdev.storage_requests import classify_queue_request, classify_table_request


def _through(azurite: Azurite, service: str, proxy: FaultProxy) -> str:
    endpoint = f"{service.capitalize()}Endpoint=http://127.0.0.1:"
    port = azurite.table_port if service == "table" else azurite.queue_port
    return azurite.connection_string.replace(f"{endpoint}{port}/", f"{endpoint}{proxy.port}/")


@pytest.fixture
async def table_proxy(azurite: Azurite) -> AsyncIterator[FaultProxy]:
    config = ProxyConfig(f"http://127.0.0.1:{azurite.table_port}", classify=classify_table_request)
    async with FaultProxy(config) as proxy:
        yield proxy


@pytest.fixture
async def queue_proxy(azurite: Azurite) -> AsyncIterator[FaultProxy]:
    config = ProxyConfig(f"http://127.0.0.1:{azurite.queue_port}", classify=classify_queue_request)
    async with FaultProxy(config) as proxy:
        yield proxy


async def test_table_operations_are_counted_by_table_and_operation(
    azurite: Azurite, table_proxy: FaultProxy
) -> None:
    name = f"Counted{secrets.token_hex(4)}"
    connection = _through(azurite, "table", table_proxy)
    async with TableClient.from_connection_string(connection, name) as table:
        await table.create_table()
        await table.create_entity({"PartitionKey": "p", "RowKey": "a", "n": 1})
        entity = await table.get_entity("p", "a")
        await table.update_entity(
            entity,
            mode=UpdateMode.MERGE,
            etag=entity.metadata["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
        await table.upsert_entity({"PartitionKey": "p", "RowKey": "b"}, mode=UpdateMode.REPLACE)
        await table.submit_transaction([("upsert", {"PartitionKey": "p", "RowKey": "c"})])
        rows = [row async for row in table.query_entities("PartitionKey eq 'p'")]
        await table.delete_entity("p", "a")

    assert len(rows) == 3
    assert table_proxy.stats.requests == {
        "table - create-table": 1,
        f"table {name} insert": 1,
        f"table {name} get": 1,
        f"table {name} merge": 1,
        f"table {name} upsert": 1,
        "table - batch": 1,
        f"table {name} query": 1,
        f"table {name} delete": 1,
    }


async def test_queue_operations_are_counted_by_queue_and_operation(
    azurite: Azurite, queue_proxy: FaultProxy
) -> None:
    name = f"counted-{secrets.token_hex(4)}"
    connection = _through(azurite, "queue", queue_proxy)
    async with QueueClient.from_connection_string(connection, name) as queue:
        await queue.create_queue()
        await queue.send_message("one")
        received = [message async for message in queue.receive_messages(max_messages=1)]
        await queue.delete_message(received[0])

    assert queue_proxy.stats.requests == {
        f"queue {name} create": 1,
        f"queue {name} put": 1,
        f"queue {name} get": 1,
        f"queue {name} delete": 1,
    }
