"""Every log line of a full run, from every logger, holds no full phone number and no secret.

The run goes through the API, the worker with the real ``twilio`` HTTP client against the
simulator (a send, a permanent failure, an ambiguous failure then its reconciliation), a
rejected queue message, status callbacks and the inbound webhooks, at DEBUG for every logger.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from localdev.twilio_sim import SimConfig, SimulatorServer
from shared.delivery.services import get_services, reset_services
from shared.domain.records import Change, LogEvent, utcnow
from shared.handlers import worker
from shared.platform import logs
from tests.integration.conftest import PUBLIC_BASE_URL
from tests.support.app import user_function
from tests.support.requests import api_post, signed_form, trigger_message

pytestmark = [
    pytest.mark.integration,
    # twilio's AsyncTwilioHttpClient still passes aiohttp's deprecated ``auth`` argument.
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

SIM = SimConfig(callback_delay=30.0)
RECIPIENT = "+15552468013"
AMBIGUOUS_RECIPIENT = "+15553579024"
CALLER = "+15559081726"
IN_A_BODY = "+15556172839"
INVALID_NUMBER = "+15005550001"
# Numbers in other scripts' digits, which an escape (\\u0665, \\uff17) hides from masking.
FULLWIDTH_TAIL = "+1555864213\uff17"
ARABIC_INDIC = "+1" + "".join(chr(0x0660 + int(digit)) for digit in "5559753102")
NUMBERS = [RECIPIENT, AMBIGUOUS_RECIPIENT, CALLER, IN_A_BODY, INVALID_NUMBER, "+15558642137"]
NUMBERS += ["+15559753102"]


def readable(line: str) -> str:
    """The line as a person would read it: escapes undone, every script's digits as ASCII."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), line)
    return "".join(str(unicodedata.digit(c)) if c.isdecimal() else c for c in unescaped)


def full_number(number: str) -> re.Pattern[str]:
    """The national digits in order, whatever separates them (spaces, dashes, encodings)."""
    return re.compile(r"\D{0,3}".join(number[2:]))


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(SIM) as server:
        yield server


@pytest.fixture
async def real_twilio(
    gateway_env: dict[str, str],
    simulator: SimulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> AsyncIterator[str]:
    env = {
        **gateway_env,
        "TWILIO_ACCOUNT_SID": SIM.account_sid,
        "TWILIO_AUTH_TOKEN": SIM.auth_token,
        "TWILIO_API_BASE_URL": simulator.base_url,
        "LOG_MESSAGE_BODIES": request.param,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    await reset_services()
    yield simulator.base_url
    await reset_services()


async def drain_and_work() -> list[tuple[str, bytes]]:
    """Runs the worker on every queued message; returns those it asked to be retried."""
    services = await get_services()
    retry: list[tuple[str, bytes]] = []
    async for message in services.queue.receive_messages(visibility_timeout=30):
        body = str(message.content).encode()
        await services.queue.delete_message(message)
        try:
            await user_function("outbound_worker")(trigger_message(message.id, body))
        except worker.RetryableSendError:
            retry.append((message.id, body))
    return retry


async def retry_after_the_lease(retry: list[tuple[str, bytes]]) -> None:
    """As after a crash mid-send: the claim has expired, so the retry reconciles first."""
    services = await get_services()
    expired = Change(LogEvent("test", "test"), {"claimed_at": utcnow() - timedelta(minutes=10)})
    for message_id, body in retry:
        await services.log.update(json.loads(body)["id"], lambda _: expired)
        await user_function("outbound_worker")(trigger_message(message_id, body, 2))


def signed(path: str, params: dict[str, str]) -> object:
    return signed_form(f"{PUBLIC_BASE_URL}{path}", params, SIM.auth_token)


async def full_run(sim_url: str) -> None:
    send, status = user_function("send_message"), user_function("twilio_status")
    body = f"Call {IN_A_BODY} or 555 617 2839 back"
    accepted = await send(api_post("messages", {"to": RECIPIENT, "body": body}))
    record_id = json.loads(accepted.get_body())["id"]
    await send(api_post("messages", {"to": INVALID_NUMBER, "body": "x"}))
    await send(api_post("messages", {"to": "+1 555 246 8013", "body": "refused"}))
    async with aiohttp.ClientSession() as http:
        rules = [{"kind": "created_then_500", "to": AMBIGUOUS_RECIPIENT, "count": 1}]
        await http.post(f"{sim_url}/_sim/faults", json={"rules": rules})
    await send(api_post("messages", {"to": AMBIGUOUS_RECIPIENT, "body": body}))
    await retry_after_the_lease(await drain_and_work())
    services = await get_services()
    await services.queue.send_message(json.dumps({"kind": "sms", "to": "1 555 246 8013"}))
    for hostile in (FULLWIDTH_TAIL, ARABIC_INDIC):
        await services.queue.send_message(json.dumps({"kind": "sms", "to": hostile, "body": "x"}))
    await drain_and_work()
    for update in ("sent", "delivered"):
        params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": update, "To": RECIPIENT}
        await status(signed(f"/api/twilio/status?id={record_id}", params))
    inbound = {"From": CALLER, "To": RECIPIENT}
    await user_function("twilio_sms")(
        signed("/api/twilio/sms", {**inbound, "MessageSid": "SM" + "2" * 32, "Body": body})
    )
    await user_function("twilio_sms")(
        signed("/api/twilio/sms", {**inbound, "MessageSid": "SM" + "3" * 32, "Body": "STOP"})
    )
    await user_function("twilio_voice")(
        signed("/api/twilio/voice", {**inbound, "CallSid": "CA" + "4" * 32})
    )


@pytest.mark.parametrize("real_twilio", ["true", "false"], indirect=True)
async def test_full_run_logs_no_number_token_or_key(
    real_twilio: str,
    simulator: SimulatorServer,
    caplog: pytest.LogCaptureFixture,
    storage_connection_string: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    user_function("send_message")  # imports the app, which keeps the SDK's request log quiet
    sdk_requests = logging.getLogger(logs.SDK_REQUEST_LOGGER)
    quiet = sdk_requests.level
    sdk_requests.setLevel(logging.DEBUG)  # as someone diagnosing would turn it back on
    try:
        await full_run(real_twilio)
    finally:
        sdk_requests.setLevel(quiet)

    account_key = re.search(r"AccountKey=([^;]+)", storage_connection_string)
    secrets = [SIM.auth_token, *([account_key.group(1)] if account_key else [])]
    # The simulator stands in for Twilio; its own lines are not the gateway's.
    records = [record for record in caplog.records if not record.name.startswith("localdev")]
    lines = [
        readable(
            " ".join(
                [
                    record.getMessage(),
                    record.exc_text or "",
                    str(vars(record).get("custom_dimensions")),
                ]
            )
        )
        for record in records
    ]
    rejected = [line for line in lines if "queue_message_rejected" in line]
    assert len(rejected) >= 3
    for hidden in ("15558642137", "15559753102"):
        for line in rejected:
            assert not any(hidden[i : i + 5] in line for i in range(len(hidden) - 4)), line
    assert any(record.name.startswith("azure") for record in records)
    reconciled = [r for r in simulator.state.store.requests if r.method == "GET" and r.query]
    assert [r.query.get("To") for r in reconciled] == [AMBIGUOUS_RECIPIENT]
    for line in lines:
        for number in NUMBERS:
            assert not full_number(number).search(line), line
        for secret in secrets:
            assert secret not in line, line
