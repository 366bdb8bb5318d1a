"""The retention purge against Azurite: through the index, complete, repeatable, counted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from shared.delivery import twilio_deletion
from shared.delivery.retention import purge
from shared.domain.records import utcnow
from tests.integration.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, Gateway
from tests.support.fake_twilio import twilio_error
from tests.support.personal_data import (
    OTHER_PERSON,
    PERSON,
    every_row,
    logged_at,
    rows_mentioning,
    sent_and_delivered,
    texted,
)
from tests.support.spies import first_arguments

pytestmark = pytest.mark.integration

# Purging as if a month and a bit had passed: today's records are past 30 days.
LATER = timedelta(days=31)


async def todays_traffic(gateway: Gateway) -> list[str]:
    ids = []
    for _ in range(2):
        record_id, _ = await sent_and_delivered(
            gateway.services, gateway.twilio, PUBLIC_BASE_URL, AUTH_TOKEN
        )
        ids.append(record_id)
    ids.append(await texted(PUBLIC_BASE_URL, AUTH_TOKEN, "hello back"))
    return ids


async def test_a_purge_leaves_nothing_of_the_purged_days_in_any_table(gateway: Gateway) -> None:
    ids = await todays_traffic(gateway)
    log_rows = (await every_row(gateway.services))[gateway.services.settings.message_log_table]
    sids = [row["PartitionKey"] for row in log_rows if row["PartitionKey"].startswith("sid:")]

    await purge(gateway.services, utcnow() + LATER)

    rows = await every_row(gateway.services)
    assert sids and rows_mentioning(rows, PERSON[1:], *ids, *sids) == []
    assert rows[gateway.services.settings.message_log_table] == []
    assert rows[gateway.services.settings.message_index_table] == []


async def test_younger_records_are_left_intact(gateway: Gateway) -> None:
    await todays_traffic(gateway)
    await logged_at(gateway.services, "young", utcnow() + timedelta(days=2), to=OTHER_PERSON)
    before = await gateway.services.log.read("young")

    await purge(gateway.services, utcnow() + LATER)

    assert await gateway.services.log.read("young") == before is not None
    rows = await every_row(gateway.services)
    assert len(rows_mentioning(rows, "young")) == 4  # summary, time row, two number rows


async def test_the_counts_of_a_purged_day_are_kept_without_personal_data(gateway: Gateway) -> None:
    await todays_traffic(gateway)
    today = utcnow().date()

    report = await purge(gateway.services, utcnow() + LATER)

    store = await gateway.services.retention()
    (stats,) = await store.stats("sms", today, today)
    assert stats.counts == {("outbound", "delivered", None): 2, ("inbound", "received", None): 1}
    assert (report.records, report.stats_kept) == (3, 1)
    assert rows_mentioning(await every_row(gateway.services), PERSON[1:]) == []


async def test_a_purge_finds_its_days_through_the_index_never_reading_the_whole_log(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await todays_traffic(gateway)
    log_queries = first_arguments(gateway.services.log._table, "query_entities", monkeypatch)
    listed = first_arguments(gateway.services.log._table, "list_entities", monkeypatch)

    await purge(gateway.services, utcnow() + LATER)

    assert listed == [] and set(log_queries) == {"PartitionKey eq @pk"}


async def test_a_purge_killed_half_way_finishes_when_run_again(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    await todays_traffic(gateway)
    today = utcnow().date()
    deletes = 0
    original = gateway.services.log.delete_rows

    async def dies_after_one(record_id: str, row_keys: list[str]) -> None:
        nonlocal deletes
        deletes += 1
        if deletes > 1:
            raise ConnectionError("the host was stopped")
        await original(record_id, row_keys)

    monkeypatch.setattr(gateway.services.log, "delete_rows", dies_after_one)
    with pytest.raises(ConnectionError):
        await purge(gateway.services, utcnow() + LATER)
    monkeypatch.setattr(gateway.services.log, "delete_rows", original)

    await purge(gateway.services, utcnow() + LATER)

    rows = await every_row(gateway.services)
    assert rows[gateway.services.settings.message_log_table] == []
    assert rows[gateway.services.settings.message_index_table] == []
    (stats,) = await (await gateway.services.retention()).stats("sms", today, today)
    assert sum(stats.counts.values()) == 3


async def test_two_purges_at_once_do_no_harm(gateway: Gateway) -> None:
    await todays_traffic(gateway)
    today = utcnow().date()

    await asyncio.gather(*(purge(gateway.services, utcnow() + LATER) for _ in range(2)))

    rows = await every_row(gateway.services)
    assert rows[gateway.services.settings.message_log_table] == []
    assert rows[gateway.services.settings.message_index_table] == []
    (stats,) = await (await gateway.services.retention()).stats("sms", today, today)
    assert sum(stats.counts.values()) == 3


async def test_with_twilio_deletion_on_purge_the_purged_resources_are_owed_to_twilio(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_DELETE_ON_PURGE", "true")
    await gateway.reload()
    _, sid = await sent_and_delivered(gateway.services, gateway.twilio, PUBLIC_BASE_URL, AUTH_TOKEN)

    report = await purge(gateway.services, utcnow() + LATER)

    owed = await (await gateway.services.retention()).owed_deletions(10)
    assert report.twilio_owed == 1 and [(o.resource, o.sid) for o in owed] == [("sms", sid)]


async def test_a_purge_logs_counts_never_a_number(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    await todays_traffic(gateway)
    caplog.set_level("INFO")

    await purge(gateway.services, utcnow() + LATER)

    assert "retention_purged days=1 records=3 stats_kept=1" in caplog.text
    assert PERSON[1:] not in caplog.text


async def test_a_twilio_deletion_owed_for_a_week_is_abandoned_and_logged(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TWILIO_DELETE_ON_ERASURE", "true")
    await gateway.reload()
    store = await gateway.services.retention()
    await store.owe_deletion("SM" + "1" * 32, "sms")
    for _ in range(twilio_deletion.MAX_ATTEMPTS - 1):
        (owed,) = await store.owed_deletions(1)
        await store.deletion_tried(owed)
    gateway.twilio.script(twilio_error(409, 20009, "not final"))

    done = await twilio_deletion.retry_owed(gateway.services)

    assert done.abandoned == 1 and await store.owed_deletions(10) == []
    assert "twilio_deletion_abandoned" in caplog.text
