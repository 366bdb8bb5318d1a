"""Runs the simulator inside another program's event loop, for tests and the local stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from localdev.aiohttp_server import AiohttpServer
from localdev.twilio_sim.app import create_app
from localdev.twilio_sim.config import SimConfig
from localdev.twilio_sim.state import STATE, SimState


class SimulatorServer(AiohttpServer):
    """Binds its own socket so ``port=0`` yields a known free port before anyone connects."""

    what = "simulator"

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout: float = 2.0,
    ) -> None:
        super().__init__(
            create_app(config), host=host, port=port, shutdown_timeout=shutdown_timeout
        )

    @property
    def state(self) -> SimState:
        return self.app[STATE]


@asynccontextmanager
async def running_simulator(
    config: SimConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    async with SimulatorServer(config, host=host, port=port) as server:
        yield server.base_url
