"""The local Functions host as one object: settings, indexing, HTTP server, queue listeners."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from localdev.host.discovery import (
    DiscoveredApp,
    FunctionSpec,
    HttpTrigger,
    TimerTrigger,
    discover,
)
from localdev.host.hostjson import HostConfig, load_host_json
from localdev.host.http_server import KEY_HEADER, KEY_QUERY, HttpServer
from localdev.host.invoker import InvocationResult, Invoker
from localdev.host.keys import HostKeys, resolve_keys
from localdev.host.outputs import QueueOutputs
from localdev.host.queue_listener import DEFAULT_LEASE, QueueListener
from localdev.host.settings import AppliedSettings, apply_settings
from localdev.host.storage import MissingConnectionError
from localdev.host.timers import Schedule, TimerRunner

log = logging.getLogger(__name__)

DEFAULT_PORT = 7071
MANUAL_REASON = "This function was programmatically called via the host APIs."
State = Literal["Created", "Starting", "Running", "Stopping", "Stopped"]


class HostNotRunningError(RuntimeError):
    """The host has not been started (or was stopped), so it has no address."""


class LocalHost:
    """Hosts any v2 Python app: `async with LocalHost(app_dir, port=0) as host: ...`.

    Port 0 picks a free port (see `port` / `base_url` after start). App settings added to
    os.environ from local.settings.json are removed again on stop, so tests stay isolated.
    """

    def __init__(
        self,
        app_dir: str | Path = ".",
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        settings_file: str | Path | None = None,
        function_key: str | None = None,
        drain_timeout: float = 30.0,
        message_lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.host = host
        self._requested_port = port
        self._settings_file = Path(settings_file) if settings_file else None
        self._function_key = function_key
        self._drain_timeout = drain_timeout
        self._message_lease = message_lease
        self.state: State = "Created"
        self.port: int | None = None
        self.config = HostConfig()
        self.settings = AppliedSettings()
        self.app: DiscoveredApp | None = None
        self.keys: HostKeys | None = None
        self.listeners: dict[str, QueueListener] = {}
        self.listener_errors: dict[str, str] = {}
        self.timers: dict[str, TimerRunner] = {}
        self._manual_runs: set[asyncio.Task[object]] = set()
        self._invoker: Invoker | None = None
        self._outputs: QueueOutputs | None = None
        self._http: HttpServer | None = None
        self._added_sys_path = False

    async def __aenter__(self) -> LocalHost:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise HostNotRunningError("the host is not listening")
        return f"http://{self.host}:{self.port}"

    @property
    def functions(self) -> list[FunctionSpec]:
        return self.app.functions if self.app else []

    def url_for(self, route: str) -> str:
        """The URL of a route, with the route prefix applied."""
        if self._http is None:
            raise HostNotRunningError("the host is not listening")
        return self.base_url + self._http.path_for(route)

    async def start(self) -> None:
        self.state = "Starting"
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise
        self.state = "Running"
        for line in self.describe():
            log.info("%s", line)

    async def _start(self) -> None:
        self.settings = apply_settings(self.app_dir, self._settings_file)
        self.config = load_host_json(self.app_dir)
        if str(self.app_dir) not in sys.path:
            sys.path.insert(0, str(self.app_dir))
            self._added_sys_path = True
        self.app = discover(self.app_dir)
        self.keys = resolve_keys(self.app_dir, self._function_key)
        self._invoker = Invoker(self.config.function_timeout)
        self._outputs = QueueOutputs(self.config.queues.message_encoding, self._on_queue_written)
        for spec in self.app.functions:
            if isinstance(spec.trigger, TimerTrigger):
                await self._start_timer(spec, spec.trigger, self._invoker)
            elif not isinstance(spec.trigger, HttpTrigger):
                await self._start_listener(spec, self._invoker, self._outputs)
        port = DEFAULT_PORT if self._requested_port is None else self._requested_port
        if self._requested_port is None and self.settings.local_http_port is not None:
            port = self.settings.local_http_port
        self._http = HttpServer(
            self.app.functions,
            host=self.host,
            port=port,
            route_prefix=self.config.http.route_prefix,
            keys=self.keys,
            invoker=self._invoker,
            outputs=self._outputs,
            status=self.status,
            shutdown_timeout=self._drain_timeout,
            run_function=self._start_manual_run,
        )
        await self._http.start()
        self.port = self._http.port

    async def _start_listener(
        self, spec: FunctionSpec, invoker: Invoker, outputs: QueueOutputs
    ) -> None:
        try:
            listener = QueueListener(
                spec, self.config.queues, invoker, outputs, lease=self._message_lease
            )
        except MissingConnectionError as exc:
            self._listener_failed(spec, str(exc))
            return
        await listener.start()
        self.listeners[spec.name] = listener

    async def _start_timer(
        self, spec: FunctionSpec, trigger: TimerTrigger, invoker: Invoker
    ) -> None:
        runner = TimerRunner(spec, Schedule(trigger.schedule), invoker, trigger.run_on_startup)
        await runner.start()
        self.timers[spec.name] = runner

    async def run_timer(self, name: str) -> InvocationResult:
        """Runs a timer function now and waits for it (what the admin API starts)."""
        return await self.timers[name].run_now(MANUAL_REASON)

    def _start_manual_run(self, name: str) -> bool:
        runner = self.timers.get(name)
        if runner is None:
            return False
        task: asyncio.Task[object] = asyncio.create_task(runner.run_now(MANUAL_REASON))
        self._manual_runs.add(task)
        task.add_done_callback(self._manual_runs.discard)
        return True

    def _listener_failed(self, spec: FunctionSpec, reason: str) -> None:
        """The real host reports the error and keeps the other functions running."""
        self.listener_errors[spec.name] = reason
        log.error("function %r cannot listen: %s", spec.name, reason)

    def _on_queue_written(self, queue_name: str) -> None:
        for listener in self.listeners.values():
            if listener.queue_name == queue_name:
                listener.notify_new_message()

    async def stop(self) -> None:
        """Stop HTTP, stop polling, drain running invocations (bounded), close clients."""
        if self.state in ("Stopped", "Created"):
            return
        self.state = "Stopping"
        try:
            if self._http is not None:
                await self._http.stop()
            for listener in self.listeners.values():
                await listener.stop(self._drain_timeout)
            for timer in self.timers.values():
                await timer.stop()
            if self._manual_runs:
                await asyncio.wait(self._manual_runs, timeout=self._drain_timeout)
            if self._outputs is not None:
                await self._outputs.close()
            if self._invoker is not None:
                self._invoker.shutdown()
        finally:
            self._http = None
            self.listeners.clear()
            self.timers.clear()
            self.port = None
            self.settings.revert()
            if self.app is not None:
                sys.modules.pop(self.app.module.__name__, None)
            if self._added_sys_path:
                sys.path.remove(str(self.app_dir))
                self._added_sys_path = False
            self.state = "Stopped"

    def describe(self) -> list[str]:
        """The start-up banner: every function with how to call it, then the keys."""
        lines = ["Functions:"]
        for spec in self.functions:
            lines.append(f"  {spec.name}: {self._describe_trigger(spec)}")
        for name, reason in {
            **(self.app.skipped if self.app else {}),
            **self.listener_errors,
        }.items():
            lines.append(f"  {name}: NOT RUNNING ({reason})")
        if self.keys is not None:
            lines.append(
                f"Function key: {self.keys.function_key} "
                f"(header {KEY_HEADER} or query ?{KEY_QUERY}=)"
            )
            lines.append(f"Master key: {self.keys.master_key}")
        return lines

    def _describe_trigger(self, spec: FunctionSpec) -> str:
        trigger = spec.trigger
        if isinstance(trigger, HttpTrigger):
            methods = ",".join(sorted(trigger.methods)) if trigger.methods else "*"
            url = self.url_for(trigger.route) if self._http else trigger.route
            return f"[{methods}] {url} (auth: {trigger.auth_level})"
        if isinstance(trigger, TimerTrigger):
            return (
                f"timerTrigger '{trigger.schedule}' "
                f"(run now: POST {self.base_url if self.port else ''}/admin/functions/{spec.name})"
            )
        return f"queueTrigger on '{trigger.queue_name}' (connection {trigger.connection})"

    def _errors(self) -> dict[str, str]:
        errors = {**(self.app.skipped if self.app else {}), **self.listener_errors}
        for name, listener in self.listeners.items():
            if listener.stats.last_error:
                errors[name] = listener.stats.last_error
        return errors

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "version": "localdev",
            "functions": [spec.name for spec in self.functions],
            "errors": self._errors(),
            "queues": {
                name: {"queue": listener.queue_name, **listener.stats.as_dict()}
                for name, listener in self.listeners.items()
            },
            "timers": {name: timer.as_dict() for name, timer in self.timers.items()},
        }
