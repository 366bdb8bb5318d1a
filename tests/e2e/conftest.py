"""The whole stack on free ports, driven only over HTTP and the queue, as a user would.

The app runs from a copy of ``function_app.py``, ``shared/`` and ``host.json`` whose queue
settings retry within a second, so retries and the poison queue show up quickly. Nothing else
differs from what ``make dev`` and ``func azure functionapp publish`` run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.ports import free_port
from localdev.stack import Stack
from tests.support.event_destinations import (
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_2,
    EventGridStandInProcess,
    WebhookReceiverProcess,
)
from tests.support.fast_app import fast_app

ACCOUNT_SID = "AC" + "e" * 32
AUTH_TOKEN = "e2e-auth-token"
FUNCTION_KEY = "e2e-function-key"
MASTER_KEY = "e2e-master-key"
FROM_NUMBER = "+15005550006"
# Two shared keys at once, as during a rotation: Twilio may sign with either.
OLD_KEY = ("webhooks_sharedkey_e2e_old", "e2e-old-secret")
NEW_KEY = ("webhooks_sharedkey_e2e_new", "e2e-new-secret")
MAX_DEQUEUE_COUNT = 3
POLL_SECONDS = 0.2
PATIENCE_SECONDS = 45.0


def _example_menu() -> dict[str, str]:
    """The inbound menu of ``local.settings.json.example``, so the README's menu is the same."""
    example = json.loads((PROJECT_ROOT / "local.settings.json.example").read_text())["Values"]
    return {name: example[name] for name in ("VOICE_MENU", "VOICE_MENU_PROMPT")}


@dataclass
class RunningStack:
    base_url: str
    sim_url: str
    storage: str
    http: aiohttp.ClientSession
    function_key: str = FUNCTION_KEY

    async def api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"x-functions-key": FUNCTION_KEY, **kwargs.pop("headers", {})}
        async with self.http.request(
            method, f"{self.base_url}{path}", headers=headers, **kwargs
        ) as response:
            text = await response.text()
            body = (
                json.loads(text) if text and response.content_type == "application/json" else text
            )
            return response.status, body

    async def sim(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.http.request(method, f"{self.sim_url}{path}", **kwargs) as response:
            assert response.status < 500, await response.text()
            return await response.json()

    async def send_sms(self, to: str, body: str = "hello", **extra: Any) -> str:
        status, answer = await self.api(
            "POST", "/api/messages", json={"to": to, "body": body, **extra}
        )
        assert status == 202, answer
        return str(answer["id"])

    async def record(self, kind: str, record_id: str) -> dict[str, Any]:
        collection = "messages" if kind == "sms" else "calls"
        status, body = await self.api("GET", f"/api/{collection}/{record_id}")
        return body if status == 200 else {}

    async def eventually(
        self, probe: Callable[[], Awaitable[dict[str, Any]]], done: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """Polls until ``done`` holds; fails with the last state seen, never on a clock."""
        last: dict[str, Any] = {}
        for _ in range(int(PATIENCE_SECONDS / POLL_SECONDS)):
            last = await probe()
            if done(last):
                return last
            await asyncio.sleep(POLL_SECONDS)
        raise AssertionError(f"never reached the expected state; last seen: {last}")

    async def final(self, kind: str, record_id: str, statuses: set[str]) -> dict[str, Any]:
        return await self.eventually(
            lambda: self.record(kind, record_id), lambda body: body.get("status") in statuses
        )


@pytest.fixture(scope="session")
def stack_processes(
    azurite: Azurite,
    tmp_path_factory: pytest.TempPathFactory,
    event_grid_process: EventGridStandInProcess,
    webhook_receiver_process: WebhookReceiverProcess,
) -> Iterator[tuple[Stack, int]]:
    app_dir = fast_app(tmp_path_factory.mktemp("app"), MAX_DEQUEUE_COUNT)
    sim_port, host_port = free_port(), free_port()
    settings = {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": azurite.connection_string,
        "OUTBOUND_QUEUE": "outbound",
        "EVENTS_QUEUE": "events",
        # Events out to the stand-ins: every transition to the webhook, the default set to
        # Event Grid; a request's callback_url is signed with the receiver's second secret.
        "EVENT_WEBHOOK_URL": webhook_receiver_process.url("/events"),
        "EVENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "EVENT_WEBHOOK_TYPES": "all",
        "EVENT_GRID_TOPIC_ENDPOINT": event_grid_process.endpoint,
        "EVENT_GRID_TOPIC_KEY": event_grid_process.key,
        "EVENT_CALLBACK_SECRET": WEBHOOK_SECRET_2,
        "EVENT_SIGNAL_DELAY_SECONDS": "1",
        "EVENT_RETRY_FIRST_SECONDS": "1",
        "EVENT_RETRY_MAX_SECONDS": "2",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{sim_port}",
        "TWILIO_TIMEOUT_SECONDS": "2",
        "SEND_LEASE_SECONDS": "7",
        "STATUS_CHECK_SECONDS": "1",
        # A send Twilio keeps refusing waits 1-2 s between tries and gives up after ~11 s.
        "TWILIO_RETRY_FIRST_SECONDS": "1",
        "TWILIO_RETRY_MAX_SECONDS": "2",
        "TWILIO_RETRY_BUDGET_HOURS": "0.003",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{host_port}",
        "TWILIO_WEBHOOK_KEY_ID": OLD_KEY[0],
        "TWILIO_WEBHOOK_KEY_SECRET": OLD_KEY[1],
        "TWILIO_WEBHOOK_KEY_ID_2": NEW_KEY[0],
        "TWILIO_WEBHOOK_KEY_SECRET_2": NEW_KEY[1],
        "SMS_AUTO_REPLY": "Thanks, we got your message.",
        "VOICE_GREETING": "Hello from the gateway.",
        **_example_menu(),
        "NUMBER_HASH_KEY": "e2e-number-hash-key-of-at-least-32-characters",
        "TWILIO_DELETE_ON_ERASURE": "true",
        "LOCALDEV_MASTER_KEY": MASTER_KEY,
        "SIM_CALLBACK_DELAY": "0.05",
        "SIM_SLOW_SECONDS": "4",
    }
    stack = Stack(
        app_dir=app_dir,
        host_port=host_port,
        settings=settings,
        function_key=FUNCTION_KEY,
        log_dir=app_dir / "logs",
    )
    with stack:
        yield stack, sim_port


@pytest.fixture
async def stack(
    stack_processes: tuple[Stack, int], azurite: Azurite
) -> AsyncIterator[RunningStack]:
    processes, sim_port = stack_processes
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        running = RunningStack(
            processes.base_url, f"http://127.0.0.1:{sim_port}", azurite.connection_string, http
        )
        await running.sim("POST", "/_sim/reset")
        yield running
