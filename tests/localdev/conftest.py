"""Fixtures the Twilio simulator tests share.

A module that needs its simulator configured differently overrides ``sim_config``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from twilio.rest import Client

from localdev.twilio_sim import SimConfig, SimulatorServer
from localdev.twilio_sim.testing import WebhookReceiver, official_client


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(callback_delay=0.01)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(sim_config) as server:
        yield server


@pytest.fixture
async def twilio(sim: SimulatorServer) -> AsyncIterator[Client]:
    """Twilio's own async client, authenticated with the simulator's account."""
    config = sim.state.config
    async with official_client(sim.base_url, config.account_sid, config.auth_token) as client:
        yield client


@pytest.fixture
async def control(sim: SimulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain session on the simulator, for its /_sim control endpoints."""
    async with aiohttp.ClientSession(base_url=sim.base_url) as session:
        yield session


@pytest.fixture
async def app(sim: SimulatorServer) -> AsyncIterator[WebhookReceiver]:
    """The application side: receives (and checks the signature of) every webhook."""
    async with WebhookReceiver(sim.state.config.auth_token) as receiver:
        yield receiver
