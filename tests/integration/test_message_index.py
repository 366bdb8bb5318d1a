"""The list index against Azurite: rows written together go in one transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.records import LogRecord
from shared.domain.transitions import inbound_record
from shared.storage.message_index import IndexQuery
from tests.integration.conftest import Gateway
from tests.support.spies import first_arguments

pytestmark = pytest.mark.integration


def received(sid: str) -> LogRecord:
    record, _ = inbound_record(sid, "sms", "received", "+15005550006", "+15557654321", "hi", True)
    return record


async def listed(gateway: Gateway) -> list[str]:
    now = datetime.now(UTC)
    query = IndexQuery("sms", now - timedelta(days=1), now + timedelta(minutes=1))
    ids, _ = await gateway.services.index.page(query, 100)
    return sorted(ids)


async def test_rows_added_at_the_same_time_are_one_transaction(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = gateway.services.index._table
    transactions = first_arguments(table, "submit_transaction", monkeypatch)
    inserts = first_arguments(table, "create_entity", monkeypatch)
    sids = [f"SM{i:032d}" for i in range(3)]

    await asyncio.gather(*(gateway.services.index.add(received(sid)) for sid in sids))

    assert len(transactions) == 1 and inserts == []
    assert await listed(gateway) == sids


async def test_a_row_already_there_does_not_keep_the_others_of_its_batch_out(
    gateway: Gateway,
) -> None:
    first = received("SM" + "0" * 32)
    await gateway.services.index.add(first)
    others = [received(f"SM{i:032d}") for i in (1, 2)]

    await asyncio.gather(*(gateway.services.index.add(r) for r in [first, *others]))

    assert await listed(gateway) == sorted(r.id for r in [first, *others])
