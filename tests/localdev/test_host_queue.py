"""Queue triggers against Azurite, with the Storage queues extension's semantics."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue.aio import QueueClient

from localdev.host import LocalHost
from tests.localdev.sample_app.harness import (
    SampleApp,
    b64,
    copy_sample_app,
    message_count,
    wait_until,
    wait_until_async,
)

MAX_DEQUEUE = 3  # the sample host.json's maxDequeueCount


@pytest.fixture
def sample(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    storage_connection_string: str,
) -> SampleApp:
    app = copy_sample_app(tmp_path)
    for name, value in app.env(storage_connection_string).items():
        monkeypatch.setenv(name, value)
    return app


@pytest.fixture
async def queue(sample: SampleApp, storage_connection_string: str) -> AsyncIterator[QueueClient]:
    async with QueueClient.from_connection_string(
        storage_connection_string, sample.queue
    ) as client:
        await client.create_queue()
        yield client


@pytest.fixture
async def probe_queue(
    sample: SampleApp, storage_connection_string: str
) -> AsyncIterator[QueueClient]:
    async with QueueClient.from_connection_string(
        storage_connection_string, sample.probe_queue
    ) as client:
        await client.create_queue()
        yield client


@pytest.fixture
async def poison(sample: SampleApp, storage_connection_string: str) -> AsyncIterator[QueueClient]:
    async with QueueClient.from_connection_string(
        storage_connection_string, sample.queue + "-poison"
    ) as client:
        yield client


async def poisoned(client: QueueClient) -> list[str]:
    try:
        return [m.content for m in await client.peek_messages(max_messages=32)]
    except ResourceNotFoundError:  # not created until the first message is poisoned
        return []


async def test_processed_message_is_deleted(sample: SampleApp, queue: QueueClient) -> None:
    await queue.send_message(b64("hello"))
    async with LocalHost(sample.app_dir, port=0):
        records = await wait_until(sample.records, what="the message to be processed")
        await wait_until_async(lambda: _empty(queue), what="the queue to drain")
    assert [(r["body"], r["dequeue_count"]) for r in records] == [("hello", 1)]


async def _empty(client: QueueClient) -> bool:
    return await message_count(client) == 0


async def test_failed_message_is_retried_with_growing_dequeue_count(
    sample: SampleApp, queue: QueueClient, poison: QueueClient
) -> None:
    await queue.send_message(b64("fail-retry"))
    async with LocalHost(sample.app_dir, port=0):
        await wait_until_async(
            lambda: poisoned(poison), what="the message to reach the poison queue"
        )
    assert [r["dequeue_count"] for r in sample.records()] == [1, 2, 3]


async def test_exhausted_message_moves_to_poison_unchanged(
    sample: SampleApp, queue: QueueClient, poison: QueueClient
) -> None:
    await queue.send_message(b64("fail-poison"))
    async with LocalHost(sample.app_dir, port=0):
        contents = await wait_until_async(lambda: poisoned(poison), what="the poison queue")
        await wait_until_async(lambda: _empty(queue), what="the source queue to drain")
    assert contents == [b64("fail-poison")]
    assert len(sample.records()) == MAX_DEQUEUE


async def test_last_failure_poisons_without_another_delivery(
    sample: SampleApp, queue: QueueClient, poison: QueueClient, caplog: pytest.LogCaptureFixture
) -> None:
    await queue.send_message(b64("fail-last"))
    with caplog.at_level(logging.WARNING, logger="localdev.host.queue_listener"):
        async with LocalHost(sample.app_dir, port=0):
            await wait_until_async(lambda: poisoned(poison), what="the poison queue")
    reasons = [r.getMessage() for r in caplog.records if "-poison" in r.getMessage()]
    assert len(reasons) == 1
    assert f"failed {MAX_DEQUEUE} times" in reasons[0]


async def test_message_already_over_max_dequeue_goes_straight_to_poison(
    sample: SampleApp, queue: QueueClient, poison: QueueClient
) -> None:
    await queue.send_message(b64("overdue"))
    for _ in range(MAX_DEQUEUE + 1):
        async for message in queue.receive_messages(visibility_timeout=30):
            await queue.update_message(message, visibility_timeout=0)
            break
    async with LocalHost(sample.app_dir, port=0):
        contents = await wait_until_async(lambda: poisoned(poison), what="the poison queue")
    assert contents == [b64("overdue")]
    assert sample.records() == []


async def test_base64_body_is_decoded_to_the_original_bytes(
    sample: SampleApp, queue: QueueClient
) -> None:
    await queue.send_message(base64.b64encode("héllo ✓".encode()).decode())
    async with LocalHost(sample.app_dir, port=0):
        records = await wait_until(sample.records, what="the message to be processed")
    assert records[0]["body"] == "héllo ✓"


async def test_invalid_base64_goes_to_poison_without_invocation(
    sample: SampleApp, queue: QueueClient, poison: QueueClient
) -> None:
    await queue.send_message("not base64 at all!")
    async with LocalHost(sample.app_dir, port=0):
        contents = await wait_until_async(lambda: poisoned(poison), what="the poison queue")
    assert contents == ["not base64 at all!"]
    assert sample.records() == []


async def test_encoding_none_passes_the_text_verbatim(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    storage_connection_string: str,
) -> None:
    app = copy_sample_app(tmp_path, messageEncoding="none")
    for name, value in app.env(storage_connection_string).items():
        monkeypatch.setenv(name, value)
    async with QueueClient.from_connection_string(storage_connection_string, app.queue) as client:
        await client.create_queue()
        await client.send_message("plain text, not base64")
        async with LocalHost(app.app_dir, port=0):
            records = await wait_until(app.records, what="the message to be processed")
    assert records[0]["body"] == "plain text, not base64"


async def test_queue_output_binding_feeds_the_queue_trigger(sample: SampleApp) -> None:
    async with (
        LocalHost(sample.app_dir, port=0) as host,
        aiohttp.ClientSession() as http,
        http.post(host.url_for("enqueue"), data="from http") as response,
    ):
        assert response.status == 202
        records = await wait_until(sample.records, what="the enqueued message")
    assert records[0]["body"] == "from http"


async def test_missing_queue_is_created_at_start(
    sample: SampleApp, storage_connection_string: str
) -> None:
    async with (
        LocalHost(sample.app_dir, port=0) as host,
        QueueClient.from_connection_string(storage_connection_string, sample.probe_queue) as client,
    ):
        # Creation runs in the listener's task (start-up never waits for storage).
        await wait_until(lambda: host.listeners["probe"].stats.polls > 0, what="the first poll")
        properties = await client.get_queue_properties()
    assert properties.name == sample.probe_queue


async def test_concurrency_is_bounded_by_batch_size_plus_threshold(
    sample: SampleApp, probe_queue: QueueClient
) -> None:
    batch_size, threshold, total = 4, 2, 12
    for number in range(total):
        await probe_queue.send_message(b64(f"probe {number}"))
    async with LocalHost(sample.app_dir, port=0) as host:
        listener = host.listeners["probe"]
        await wait_until(
            lambda: (
                sample.probe().get("in_flight") == batch_size
                and listener.stats.waiting_for_capacity
            ),
            what="the first batch to be held",
        )
        sample.open_gate("gate-first")
        await wait_until(
            lambda: (
                sample.probe().get("in_flight") == batch_size + threshold
                and listener.stats.waiting_for_capacity
            ),
            what="a second batch on top of the threshold",
        )
        sample.open_gate("gate-rest")
        await wait_until(
            lambda: sample.probe().get("done") == total, what="every message to finish"
        )
    assert sample.probe()["max_in_flight"] == batch_size + threshold


async def test_stop_waits_for_running_invocations(
    sample: SampleApp, probe_queue: QueueClient
) -> None:
    await probe_queue.send_message(b64("held"))
    host = LocalHost(sample.app_dir, port=0)
    await host.start()
    await wait_until(lambda: sample.probe().get("in_flight") == 1, what="the invocation")
    sample.open_gate("gate-first")
    await host.stop()
    assert sample.probe()["done"] == 1
    assert await message_count(probe_queue) == 0


async def test_stop_gives_up_after_the_drain_timeout_and_releases_the_message(
    sample: SampleApp, probe_queue: QueueClient
) -> None:
    await probe_queue.send_message(b64("never released by its gate"))
    host = LocalHost(sample.app_dir, port=0, drain_timeout=0.2)
    await host.start()
    await wait_until(lambda: sample.probe().get("in_flight") == 1, what="the invocation")
    await host.stop()
    visible = await probe_queue.peek_messages()
    assert [m.dequeue_count for m in visible] == [1]


async def test_lease_is_renewed_while_the_function_runs(
    sample: SampleApp, probe_queue: QueueClient
) -> None:
    await probe_queue.send_message(b64("long running"))
    async with LocalHost(sample.app_dir, port=0, message_lease=timedelta(seconds=2)) as host:
        await wait_until(lambda: sample.probe().get("in_flight") == 1, what="the invocation")
        listener = host.listeners["probe"]
        await wait_until(
            lambda: listener.stats.lease_renewals >= 3, what="renewals past the first lease"
        )
        sample.open_gate("gate-first")
        await wait_until(lambda: sample.probe().get("done") == 1, what="the invocation end")
        assert listener.stats.received == 1
    assert sample.probe()["arrivals"] == 1


async def test_missing_connection_is_reported_and_http_still_serves(
    sample: SampleApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    async with LocalHost(sample.app_dir, port=0) as host, aiohttp.ClientSession() as http:
        async with http.get(host.url_for("items/7")) as response:
            assert response.status == 200
        assert "AzureWebJobsStorage" in host.status()["errors"]["recorder"]
