"""Inspection, reset, runtime behaviour, configuration and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from twilio.rest import Client

from localdev.ports import free_port, wait_for_port
from localdev.twilio_sim import ConfigError, SimConfig, SimulatorServer, running_simulator
from localdev.twilio_sim.config import DEFAULT_ACCOUNT_SID
from localdev.twilio_sim.testing import WebhookReceiver

SENDER = "+15005550006"
RECIPIENT = "+15558675310"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.01, seed=5)


async def get_json(control: aiohttp.ClientSession, path: str) -> dict[str, Any]:
    async with control.get(path) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def idle(control: aiohttp.ClientSession) -> None:
    async with control.get("/_sim/idle", params={"timeout": "5"}) as response:
        assert (await response.json()) == {"idle": True}


async def test_health_answers_ok(control: aiohttp.ClientSession) -> None:
    body = await get_json(control, "/_sim/health")

    assert body == {"status": "ok", "account_sid": DEFAULT_ACCOUNT_SID}


async def test_running_simulator_yields_a_serving_base_url() -> None:
    async with (
        running_simulator(SimConfig()) as base_url,
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/_sim/health") as response,
    ):
        assert response.status == 200


async def test_sim_messages_show_each_message_with_its_callback_log(
    twilio: Client, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    message = await twilio.messages.create_async(
        to=RECIPIENT, from_=SENDER, body="hi", status_callback=app.url("/status")
    )
    await idle(control)

    [shown] = (await get_json(control, "/_sim/messages"))["messages"]

    assert shown["sid"] == message.sid
    assert shown["status"] == "delivered"
    assert shown["status_callback"] == app.url("/status")
    assert [cb["params"]["MessageStatus"] for cb in shown["callbacks"]] == ["sent", "delivered"]
    assert [cb["status"] for cb in shown["callbacks"]] == [200, 200]


async def test_sim_calls_show_the_twiml_record(
    twilio: Client, control: aiohttp.ClientSession, app: WebhookReceiver
) -> None:
    call = await twilio.calls.create_async(
        to=RECIPIENT, from_=SENDER, url=app.url("/voice"), status_callback=app.url("/status")
    )
    await idle(control)

    shown = await get_json(control, f"/_sim/calls/{call.sid}")

    assert shown["status"] == "completed"
    assert shown["twiml"]["url"] == app.url("/voice")
    assert shown["twiml"]["http_status"] == 200
    assert shown["twiml"]["signature"] == app.received("/voice")[0].signature
    assert [cb["params"]["CallStatus"] for cb in shown["callbacks"]] == ["completed"]


async def test_sim_requests_list_every_rest_request(
    twilio: Client, control: aiohttp.ClientSession
) -> None:
    await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="hi")
    await twilio.messages.list_async(to=RECIPIENT)

    requests = (await get_json(control, "/_sim/requests"))["requests"]

    assert [(r["method"], r["status"]) for r in requests] == [("POST", 201), ("GET", 200)]
    assert requests[1]["query"]["To"] == RECIPIENT
    assert requests[0]["auth_user"] == DEFAULT_ACCOUNT_SID


async def test_reset_clears_resources_logs_and_faults(
    sim: SimulatorServer, twilio: Client, control: aiohttp.ClientSession
) -> None:
    await twilio.messages.create_async(to=RECIPIENT, from_=SENDER, body="hi")
    async with control.post("/_sim/faults", json={"rules": [{"kind": "500", "count": 9}]}):
        pass

    async with control.post("/_sim/reset") as response:
        assert response.status == 200

    assert (await get_json(control, "/_sim/messages"))["messages"] == []
    assert (await get_json(control, "/_sim/requests"))["requests"] == []
    assert (await get_json(control, "/_sim/faults"))["rules"] == []
    assert len(sim.state.tasks) == 0


async def test_behaviour_can_be_changed_at_runtime(control: aiohttp.ClientSession) -> None:
    async with control.post("/_sim/behaviour", json={"call_outcome": "busy"}) as response:
        body = await response.json()

    assert response.status == 200
    assert body["call_outcome"] == "busy"
    assert (await get_json(control, "/_sim/behaviour"))["call_outcome"] == "busy"


async def test_unknown_behaviour_value_is_refused(control: aiohttp.ClientSession) -> None:
    async with control.post("/_sim/behaviour", json={"message_outcome": "lost"}) as response:
        body = await response.json()

    assert response.status == 400
    assert "message_outcome" in body["error"]


async def test_unknown_rest_path_answers_in_twilio_error_shape(
    sim: SimulatorServer, twilio: Client
) -> None:
    path = f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/Queues.json"
    response = await twilio.request_async("GET", sim.base_url + path)

    assert response.status_code == 404
    assert json.loads(response.text)["code"] == 20404


def test_config_defaults_without_environment() -> None:
    config = SimConfig.from_env({})

    assert config.account_sid == DEFAULT_ACCOUNT_SID
    assert (config.callback_delay, config.slow_seconds) == (0.2, 30.0)
    assert (config.message_outcome, config.call_outcome) == ("delivered", "completed")
    assert config.out_of_order is False


def test_config_reads_every_variable() -> None:
    config = SimConfig.from_env(
        {
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "tok",
            "TWILIO_API_KEY_SID": "SK" + "2" * 32,
            "TWILIO_API_KEY_SECRET": "sec",
            "SIM_CALLBACK_DELAY": "0.5",
            "SIM_MESSAGE_OUTCOME": "undelivered",
            "SIM_CALL_OUTCOME": "no-answer",
            "SIM_OUT_OF_ORDER": "true",
            "SIM_FAULT_503_RATE": "0.1",
            "SIM_SLOW_SECONDS": "2",
            "SIM_SEED": "42",
        }
    )

    assert config.api_key_secret == "sec"
    assert config.callback_delay == 0.5
    assert (config.message_outcome, config.call_outcome) == ("undelivered", "no-answer")
    assert config.out_of_order is True
    assert (config.fault_503_rate, config.slow_seconds, config.seed) == (0.1, 2.0, 42)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SIM_CALLBACK_DELAY", "soon"),
        ("SIM_MESSAGE_OUTCOME", "lost"),
        ("SIM_CALL_OUTCOME", "hung-up"),
        ("SIM_OUT_OF_ORDER", "maybe"),
        ("SIM_FAULT_429_RATE", "1.5"),
        ("SIM_SLOW_SECONDS", "-1"),
        ("SIM_SEED", "x"),
        ("TWILIO_ACCOUNT_SID", "AC123"),
    ],
)
def test_bad_config_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        SimConfig.from_env({name: value})


def test_api_key_sid_without_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="TWILIO_API_KEY_SECRET"):
        SimConfig.from_env({"TWILIO_API_KEY_SID": "SK" + "2" * 32})


def test_command_line_serves_on_the_given_port() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SIM_CALLBACK_DELAY": "0.01"}
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.twilio_sim", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=20)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/health") as response:
            body = json.load(response)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert body["status"] == "ok"


def test_command_line_refuses_a_bad_variable() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SIM_MESSAGE_OUTCOME": "lost"}
    result = subprocess.run(
        [sys.executable, "-m", "localdev.twilio_sim", "--port", str(free_port())],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert result.returncode == 2
    assert "SIM_MESSAGE_OUTCOME" in result.stderr
