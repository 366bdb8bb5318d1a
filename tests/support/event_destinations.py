"""The events stand-ins as running processes on free ports, with a small client each, for any
test that needs a destination: ``event_grid`` and ``webhook_receiver`` (cleared for each
test; one process each per run), registered in ``tests/conftest.py``.

The client is synchronous (urllib) so sync and async tests alike can read what arrived and set
faults; the servers run in processes of their own, so a blocking call never stalls them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest

from localdev.ports import free_port, wait_for_port
from localdev.processes import stop_process

ROOT = Path(__file__).resolve().parents[2]
EVENT_GRID_KEY = "test-event-grid-key"
# Two Standard Webhooks secrets, so tests can show a rotation (the old one and the new one).
WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC1vbmUh"
WEBHOOK_SECRET_2 = "whsec_dGVzdC13ZWJob29rLXNlY3JldC10d28tLS0tLS0tLS0tLS0h"


@dataclass
class StandInClient:
    base_url: str

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urlopen(request, timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def received(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/received")
        return found

    def clear(self) -> None:
        self.call("DELETE", "/received")

    def fault(self, **rule: Any) -> None:
        """e.g. ``fault(status=503, seconds=600)``, ``fault(fail_ratio=0.2)``,
        ``fault(delay_seconds=20)``, ``fault(status=410, path="/hooks/a")``."""
        self.call("POST", "/faults", rule)

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def wait_for(
        self,
        count: int,
        within: float = 10.0,
        which: Callable[[dict[str, Any]], bool] = lambda entry: True,
    ) -> list[dict[str, Any]]:
        """At least ``count`` received entries that ``which`` keeps, polled; else AssertionError."""
        deadline = time.monotonic() + within
        while True:
            found = [entry for entry in self.received() if which(entry)]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} of {count} after {within} s"
                return found
            time.sleep(0.05)

    async def wait_for_async(
        self,
        count: int,
        within: float = 10.0,
        which: Callable[[dict[str, Any]], bool] = lambda entry: True,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.wait_for, count, within, which)


@dataclass
class EventGridStandInProcess(StandInClient):
    key: str

    @property
    def endpoint(self) -> str:
        """A custom topic's endpoint, as the portal shows it."""
        return self.base_url + "/api/events"

    def events(self) -> list[dict[str, Any]]:
        return [entry["event"] for entry in self.received()]

    def requests(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/requests")
        return found


@dataclass
class WebhookReceiverProcess(StandInClient):
    secrets: tuple[str, ...]

    def url(self, path: str = "/events") -> str:
        return self.base_url + path

    def delivered(self) -> list[dict[str, Any]]:
        """What was answered 2xx: delivered, as the gateway sees it."""
        return [entry for entry in self.received() if 200 <= entry["status"] < 300]


@contextmanager
def running(module: str, *args: str) -> Iterator[str]:
    """``python -m module --port <free> args...`` until the block ends; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, timeout=10)


@pytest.fixture(scope="session")
def event_grid_process() -> Iterator[EventGridStandInProcess]:
    with running("localdev.event_grid", "--key", EVENT_GRID_KEY) as url:
        yield EventGridStandInProcess(url, EVENT_GRID_KEY)


@pytest.fixture
def event_grid(event_grid_process: EventGridStandInProcess) -> EventGridStandInProcess:
    """The Event Grid stand-in, with nothing received and no faults."""
    event_grid_process.clear()
    event_grid_process.clear_faults()
    return event_grid_process


@pytest.fixture(scope="session")
def webhook_receiver_process() -> Iterator[WebhookReceiverProcess]:
    secrets = (WEBHOOK_SECRET, WEBHOOK_SECRET_2)
    args = [arg for secret in secrets for arg in ("--secret", secret)]
    with running("localdev.webhook_receiver", *args) as url:
        yield WebhookReceiverProcess(url, secrets)


@pytest.fixture
def webhook_receiver(webhook_receiver_process: WebhookReceiverProcess) -> WebhookReceiverProcess:
    """The webhook receiver (accepting either secret), with nothing received and no faults."""
    webhook_receiver_process.clear()
    webhook_receiver_process.clear_faults()
    return webhook_receiver_process
