"""The whole local loop as processes: Azurite, the Twilio simulator, the events stand-ins
(Event Grid and a webhook receiver, when the settings point at them) and the local host.

``make dev`` runs it on the usual ports; end-to-end tests run it on free ports. Each part is
its own process, as in Azure, so the tests drive the app only over HTTP and the queue.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.ports import wait_for_port
from localdev.processes import signal_if_running, wait_or_kill

DEV_STORAGE = "UseDevelopmentStorage=true"


class StackStartError(RuntimeError):
    """A part of the stack did not come up; the message says which and where its log is."""


def read_settings(path: Path) -> dict[str, str]:
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    return {str(name): str(value) for name, value in values.items()}


def local_port(url: str) -> int | None:
    """The port of a URL on this machine (127.0.0.1 or localhost), else None."""
    parts = urlsplit(url.strip())
    if parts.hostname in ("127.0.0.1", "localhost") and parts.port:
        return parts.port
    return None


def simulator_port(values: dict[str, str]) -> int | None:
    """The simulator runs only when the app is pointed at a local Twilio stand-in."""
    return local_port(values.get("TWILIO_API_BASE_URL", ""))


@dataclass(frozen=True)
class Part:
    """A process of the stack besides Azurite and the host: ``python -m <args>`` on a port."""

    name: str
    args: tuple[str, ...]
    port: int


def event_stand_ins(values: dict[str, str]) -> tuple[Part, ...]:
    """The events stand-ins the settings point at: an Event Grid topic and a webhook on this
    machine get their stand-in, with the key and secrets the app signs with."""
    parts: list[Part] = []
    grid_port = local_port(values.get("EVENT_GRID_TOPIC_ENDPOINT", ""))
    key = values.get("EVENT_GRID_TOPIC_KEY", "").strip()
    if grid_port is not None and key:
        grid = ("localdev.event_grid", "--port", str(grid_port), "--key", key)
        parts.append(Part("event_grid", grid, grid_port))
    hook_port = local_port(values.get("EVENT_WEBHOOK_URL", ""))
    secrets = values.get("EVENT_WEBHOOK_SECRET", "").split()
    if hook_port is not None and secrets:
        flags = tuple(arg for secret in secrets for arg in ("--secret", secret))
        hook = ("localdev.webhook_receiver", "--port", str(hook_port), *flags)
        parts.append(Part("webhook_receiver", hook, hook_port))
    return tuple(parts)


@dataclass
class Stack:
    """Starts the parts in order, waits for each, and stops them all on exit."""

    app_dir: Path = PROJECT_ROOT
    host_port: int = 7071
    settings: dict[str, str] = field(default_factory=dict)
    function_key: str | None = None
    azurite: Azurite | None = None
    log_dir: Path | None = None
    on_console: tuple[str, ...] = ()
    host_args: tuple[str, ...] = ()
    # The simulator's port when the app reaches it through something else (a fault proxy).
    simulator_port: int | None = None
    # More processes started before the host (the events stand-ins, say).
    parts: tuple[Part, ...] = ()
    _processes: list[tuple[str, subprocess.Popen[bytes], IO[bytes] | None]] = field(
        default_factory=list, init=False
    )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    def environment(self) -> dict[str, str]:
        env = {**os.environ, **self.settings}
        if self.azurite is not None:
            env["AzureWebJobsStorage"] = self.azurite.connection_string
        if self.function_key:
            env["LOCALDEV_FUNCTION_KEY"] = self.function_key
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])
        )
        return env

    def _spawn(self, name: str, args: list[str], port: int) -> None:
        to_file = self.log_dir is not None and name not in self.on_console
        log_file = (self.log_dir / f"{name}.log").open("ab") if to_file and self.log_dir else None
        process = subprocess.Popen(  # noqa: S603 - our own modules, fixed arguments
            [sys.executable, "-m", *args],
            env=self.environment(),
            cwd=self.app_dir,
            stdout=log_file,
            stderr=subprocess.STDOUT if log_file else None,
        )
        self._processes.append((name, process, log_file))
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            where = f"; see {self.log_dir / f'{name}.log'}" if log_file and self.log_dir else ""
            raise StackStartError(f"{name} did not listen on port {port}{where}") from None
        if process.poll() is not None:
            raise StackStartError(f"{name} exited with {process.returncode}")

    def start(self) -> Stack:
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.azurite is not None:
                self.azurite.start()
            sim_port = self.simulator_port or simulator_port({**self.settings})
            if sim_port is not None:
                self._spawn(
                    "twilio_sim", ["localdev.twilio_sim", "--port", str(sim_port)], sim_port
                )
            for part in self.parts:
                self._spawn(part.name, list(part.args), part.port)
            self.start_host()
        except BaseException:
            self.stop()
            raise
        return self

    def start_host(self) -> None:
        args = ["localdev.host", "--app-dir", str(self.app_dir), "--port", str(self.host_port)]
        self._spawn("host", [*args, *self.host_args], self.host_port)

    def kill_host(self) -> None:
        """SIGKILL, as when an instance dies: no drain, no lease released, nothing flushed."""
        for entry in [entry for entry in self._processes if entry[0] == "host"]:
            _, process, log_file = entry
            process.kill()
            process.wait()
            if log_file is not None:
                log_file.close()
            self._processes.remove(entry)

    def pid(self, name: str) -> int:
        """The process id of a running part, e.g. to read its CPU time from /proc."""
        for part, process, _ in self._processes:
            if part == name:
                return process.pid
        raise LookupError(f"no running part named {name!r}")

    def poll(self) -> str | None:
        """The name of a part that has exited, if any."""
        for name, process, _ in self._processes:
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for _, process, _ in reversed(self._processes):
            signal_if_running(process, signal.SIGINT)
        for _, process, log_file in reversed(self._processes):
            wait_or_kill(process, timeout=30)
            if log_file is not None:
                log_file.close()
        self._processes.clear()
        if self.azurite is not None:
            self.azurite.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
