"""Serves an aiohttp application inside the caller's event loop, on a socket of its own."""

from __future__ import annotations

import logging
import socket
from types import TracebackType
from typing import ClassVar, Self

from aiohttp import web
from aiohttp.log import access_logger


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on host:port (port 0: a free one), as asyncio would bind it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class AiohttpServer:
    """``async with AiohttpServer(app, port=0) as server: ... server.base_url ...``.

    Binds its own socket so ``port=0`` yields a known free port before anyone connects.
    """

    what: ClassVar[str] = "server"  # for the "not running" error

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout: float = 60.0,
        access_log: logging.Logger | None = access_logger,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._shutdown_timeout = shutdown_timeout
        self._access_log = access_log
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"the {self.what} is not running")
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Listen; returns the base URL (with the bound port, useful when port is 0)."""
        self._sock = bind(self.host, self._requested_port)
        self.port = self._sock.getsockname()[1]
        self._runner = web.AppRunner(
            self.app, access_log=self._access_log, shutdown_timeout=self._shutdown_timeout
        )
        try:
            await self._runner.setup()
            await web.SockSite(self._runner, self._sock).start()
        except BaseException:
            await self.stop()
            raise
        return self.base_url

    async def stop(self) -> None:
        """Stops listening, then waits (bounded) for requests already being handled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
