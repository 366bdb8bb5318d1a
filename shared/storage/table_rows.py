"""Deleting rows of one partition cheaply, and safely while others may delete them too."""

from __future__ import annotations

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.platform import logs

# Table Storage takes at most 100 operations in one entity-group transaction.
MAX_ROWS_PER_BATCH = 100


async def delete_rows(table: TableClient, partition_key: str, row_keys: list[str]) -> None:
    """A transaction per hundred rows; one by one when some are gone already (a concurrent
    purge, a rerun after a crash), since a transaction is all or nothing."""
    for start in range(0, len(row_keys), MAX_ROWS_PER_BATCH):
        await _delete_batch(table, partition_key, row_keys[start : start + MAX_ROWS_PER_BATCH])


async def _delete_batch(table: TableClient, partition_key: str, row_keys: list[str]) -> None:
    if len(row_keys) > 1:
        rows = [{"PartitionKey": partition_key, "RowKey": key} for key in row_keys]
        try:
            await table.submit_transaction([("delete", row) for row in rows])
        except AzureError as exc:
            logs.info("delete_batch_retried_one_by_one", error=type(exc).__name__)
        else:
            return
    for key in row_keys:
        try:
            await table.delete_entity(partition_key, key)
        except ResourceNotFoundError:
            continue
