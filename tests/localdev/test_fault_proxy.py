"""The fault proxy in front of the simulator, seen by a plain HTTP client."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from localdev.fault_proxy import FaultProxy, ProxyConfig
from localdev.storage_requests import classify_by_name
from localdev.twilio_sim import SimulatorServer

SENDER = "+15005550006"
RECIPIENT = "+15558675310"


async def create(proxy: FaultProxy, sim: SimulatorServer, seconds: float = 5.0) -> int:
    config = sim.state.config
    url = f"{proxy.base_url}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
    auth = {"Authorization": aiohttp.encode_basic_auth(config.account_sid, config.auth_token)}
    form = {"To": RECIPIENT, "From": SENDER, "Body": "hi"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as http,
        http.post(url, data=form, headers=auth) as answer,
    ):
        return answer.status


async def run(
    sim: SimulatorServer, fault: str, hang_seconds: float = 30.0
) -> tuple[FaultProxy, object]:
    config = ProxyConfig(sim.base_url, fault_rate=1.0, faults=(fault,), hang_seconds=hang_seconds)
    async with FaultProxy(config) as proxy:
        try:
            outcome: object = await create(proxy, sim, seconds=0.5)
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome = type(exc)
        return proxy, outcome


@pytest.mark.parametrize(("fault", "status"), [("429", 429), ("500", 500), ("503", 503)])
async def test_refusals_answer_before_anything_is_created(
    sim: SimulatorServer, fault: str, status: int
) -> None:
    proxy, outcome = await run(sim, fault)

    assert outcome == status
    assert sim.state.store.messages == {}
    assert proxy.stats.faults[fault] == 1


async def test_created_then_500_creates_and_answers_500(sim: SimulatorServer) -> None:
    _, outcome = await run(sim, "created_then_500")

    assert outcome == 500
    assert len(sim.state.store.messages) == 1


async def test_created_then_hang_outlasts_the_client_timeout(sim: SimulatorServer) -> None:
    _, outcome = await run(sim, "created_then_hang", hang_seconds=2.0)

    assert outcome is TimeoutError
    assert len(sim.state.store.messages) == 1


async def test_created_then_drop_closes_the_connection_without_an_answer(
    sim: SimulatorServer,
) -> None:
    _, outcome = await run(sim, "created_then_drop")

    assert isinstance(outcome, type) and issubclass(outcome, aiohttp.ClientError)
    assert len(sim.state.store.messages) == 1


async def test_without_faults_every_request_is_forwarded(sim: SimulatorServer) -> None:
    async with FaultProxy(ProxyConfig(upstream=sim.base_url, latency_seconds=0.01)) as proxy:
        assert await create(proxy, sim) == 201
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{proxy.base_url}/_proxy/stats") as answer,
        ):
            stats = await answer.json()

    taken_at, latency = stats.pop("taken_at"), stats.pop("mean_latency")
    assert stats == {
        "forwarded": 1,
        "faults": {},
        "requests": {},
        "upstream_seconds": {},
        "max_in_flight": 1,
        "created": 1,
        "created_per_second": None,
        "taken": 1,
    }
    assert len(taken_at) == 1 and latency >= 0.01


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="faults must be among"):
        FaultProxy(ProxyConfig(upstream="http://127.0.0.1:9", faults=("gremlins",)))


async def test_a_classifier_counts_each_forwarded_request_under_its_name(
    sim: SimulatorServer,
) -> None:
    config = ProxyConfig(sim.base_url, classify=classify_by_name)
    async with FaultProxy(config) as proxy:
        await create(proxy, sim)
        await create(proxy, sim)

        assert proxy.stats.requests == {"POST Messages.json": 2}
        assert proxy.stats.as_json()["requests"] == {"POST Messages.json": 2}
        assert set(proxy.stats.upstream_seconds) == {"POST Messages.json"}


async def test_requests_handled_at_once_are_counted(sim: SimulatorServer) -> None:
    async with FaultProxy(ProxyConfig(sim.base_url, latency_seconds=0.5)) as proxy:
        await asyncio.gather(create(proxy, sim), create(proxy, sim))

        assert proxy.stats.max_in_flight == 2
        assert proxy.stats.in_flight == 0


@pytest.mark.parametrize("status", [503, 429])
async def test_an_outage_answers_every_request_until_it_ends(
    sim: SimulatorServer, status: int
) -> None:
    async with FaultProxy(ProxyConfig(sim.base_url)) as proxy:
        proxy.outage(status, seconds=0.3)
        during = [await create(proxy, sim) for _ in range(3)]
        await asyncio.sleep(0.35)
        after = await create(proxy, sim)

    assert during == [status] * 3 and after == 201
    assert len(sim.state.store.messages) == 1


async def test_an_outage_can_be_started_over_http(sim: SimulatorServer) -> None:
    async with FaultProxy(ProxyConfig(sim.base_url)) as proxy, aiohttp.ClientSession() as http:
        url = f"{proxy.base_url}/_proxy/outage"
        async with http.post(url, json={"status": 503, "seconds": 30}) as answer:
            assert answer.status == 200

        assert await create(proxy, sim) == 503


async def test_requests_beyond_the_concurrency_limit_are_refused_with_20429(
    sim: SimulatorServer,
) -> None:
    config = ProxyConfig(sim.base_url, latency_seconds=0.3, concurrency_limit=2)
    async with FaultProxy(config) as proxy:
        statuses = await asyncio.gather(*(create(proxy, sim) for _ in range(5)))

    assert sorted(statuses) == [201, 201, 429, 429, 429]
    assert proxy.stats.faults["over_concurrency"] == 3


async def test_the_latency_of_what_twilio_took_counts_the_added_latency_and_the_upstream(
    sim: SimulatorServer,
) -> None:
    config = ProxyConfig(sim.base_url, latency_seconds=0.2, concurrency_limit=1)
    async with FaultProxy(config) as proxy:
        statuses = await asyncio.gather(*(create(proxy, sim) for _ in range(2)))
        latency = proxy.stats.mean_latency()

    assert sorted(statuses) == [201, 429]
    assert proxy.stats.taken == 1
    assert latency is not None and latency >= 0.2


async def test_a_sender_gone_mid_request_is_logged_not_forwarded(
    sim: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "localdev.fault_proxy")
    async with FaultProxy(ProxyConfig(upstream=sim.base_url)) as proxy:
        _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"POST /2010-04-01/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npart")
        await writer.drain()
        writer.transport.abort()
        for _ in range(50):
            if "sender gone" in caplog.text:
                break
            await asyncio.sleep(0.02)

    assert "sender gone" in caplog.text
    assert proxy.stats.forwarded == 0
