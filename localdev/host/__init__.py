"""A small stand-in for `func start`: hosts any Azure Functions v2 Python app locally.

HTTP triggers are served by aiohttp; queue triggers poll a real queue (Azurite) with the
Storage queues extension's semantics. The app never imports anything from here.
"""

from localdev.host.host import HostNotRunningError, LocalHost

__all__ = ["HostNotRunningError", "LocalHost"]
