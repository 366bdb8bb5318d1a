"""Test-side helpers for driving the sample app; the app itself never imports this."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from azure.storage.queue.aio import QueueClient

SAMPLE_APP = Path(__file__).resolve().parent
T = TypeVar("T")


@dataclass(frozen=True)
class SampleApp:
    app_dir: Path
    record_dir: Path
    queue: str
    probe_queue: str

    def env(self, connection_string: str) -> dict[str, str]:
        return {
            "AzureWebJobsStorage": connection_string,
            "SAMPLE_RECORD_DIR": str(self.record_dir),
            "SAMPLE_QUEUE": self.queue,
            "SAMPLE_PROBE_QUEUE": self.probe_queue,
        }

    def records(self) -> list[dict[str, Any]]:
        path = self.record_dir / "recorder.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def probe(self) -> dict[str, int]:
        path = self.record_dir / "probe.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def open_gate(self, name: str) -> None:
        (self.record_dir / name).touch()


def unique_queue(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def copy_sample_app(root: Path, **queue_options: object) -> SampleApp:
    """A private copy (so generated keys stay out of the repo), host.json optionally edited."""
    app_dir = root / "app"
    shutil.copytree(SAMPLE_APP, app_dir, ignore=shutil.ignore_patterns("__pycache__", ".localdev"))
    if queue_options:
        host_json = app_dir / "host.json"
        document = json.loads(host_json.read_text())
        document["extensions"]["queues"].update(queue_options)
        host_json.write_text(json.dumps(document))
    record_dir = root / "records"
    record_dir.mkdir()
    return SampleApp(app_dir, record_dir, unique_queue("rec"), unique_queue("probe"))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def wait_until(check: Callable[[], T | None], *, what: str, within: float = 30.0) -> T:
    """Poll until `check` returns something truthy; `within` only bounds a failing test."""

    async def checking() -> T | None:
        return check()

    return await wait_until_async(checking, what=what, within=within)


async def wait_until_async(
    check: Callable[[], Awaitable[T | None]], *, what: str, within: float = 30.0
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def message_count(client: QueueClient) -> int:
    properties = await client.get_queue_properties()
    return properties.approximate_message_count or 0
