"""Index a v2 Python app the way the Python worker does: import it, read its bindings.

The bindings are read as the function.json documents the worker would hand to the host
(`get_raw_bindings()`), so anything the decorators can express is seen exactly as Azure
sees it. Functions this host cannot run are reported and skipped, never fatal.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import azure.functions as func

log = logging.getLogger(__name__)

SCRIPT_FILE_ENV = "PYTHON_SCRIPT_FILE_NAME"
DEFAULT_SCRIPT_FILE = "function_app.py"
DEFAULT_CONNECTION = "AzureWebJobsStorage"
CONTEXT_PARAMETER = "context"

AuthLevel = Literal["anonymous", "function", "admin"]
QueueArgKind = Literal["message", "str", "bytes"]

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$")


class AppLoadError(RuntimeError):
    """The app cannot be imported or holds no single FunctionApp, so nothing can run."""


class UnsupportedFunctionError(ValueError):
    """One function needs something this host does not provide; the others still run."""


@dataclass(frozen=True)
class HttpTrigger:
    route: str
    methods: frozenset[str] | None
    auth_level: AuthLevel


@dataclass(frozen=True)
class QueueTrigger:
    queue_name: str
    connection: str
    arg_kind: QueueArgKind = "message"


@dataclass(frozen=True)
class TimerTrigger:
    schedule: str  # %SETTING% resolved
    run_on_startup: bool = False
    use_monitor: bool = True


@dataclass(frozen=True)
class QueueOutput:
    name: str  # the parameter name, or "$return"
    queue_name: str
    connection: str


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    user_function: Callable[..., Any]
    trigger_arg: str
    trigger: HttpTrigger | QueueTrigger | TimerTrigger
    directory: str
    http_output: str | None = None  # "$return" or an Out parameter name
    queue_outputs: tuple[QueueOutput, ...] = ()
    wants_context: bool = False

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)


@dataclass
class DiscoveredApp:
    module: ModuleType
    functions: list[FunctionSpec] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # function name -> reason


def load_app_module(app_dir: Path) -> ModuleType:
    """Import the script under a per-directory module name so several apps can coexist."""
    script = app_dir / os.environ.get(SCRIPT_FILE_ENV, DEFAULT_SCRIPT_FILE)
    if not script.exists():
        raise AppLoadError(f"{script} not found")
    digest = hashlib.sha1(str(script.resolve()).encode(), usedforsecurity=False).hexdigest()
    module_name = f"_localdev_app_{digest[:10]}"
    spec = importlib.util.spec_from_file_location(module_name, script)
    if spec is None or spec.loader is None:
        raise AppLoadError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise AppLoadError(f"importing {script} failed: {exc!r}") from exc
    return module


def find_function_app(module: ModuleType) -> func.FunctionRegister:
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if len(apps) != 1:
        raise AppLoadError(
            f"{module.__file__} must define exactly one FunctionApp instance, found {len(apps)}"
        )
    return apps[0]


def discover(app_dir: Path) -> DiscoveredApp:
    module = load_app_module(app_dir)
    try:
        functions = find_function_app(module).get_functions()
    except ValueError as exc:
        raise AppLoadError(f"indexing {module.__file__} failed: {exc}") from exc
    app = DiscoveredApp(module=module)
    for function in functions:
        name = function.get_function_name() or function.get_user_function().__name__
        try:
            app.functions.append(build_spec(name, function, str(app_dir)))
        except UnsupportedFunctionError as exc:
            app.skipped[name] = str(exc)
            log.warning("function %r skipped: %s", name, exc)
    return app


def build_spec(name: str, function: func.Function, directory: str) -> FunctionSpec:
    bindings: list[dict[str, Any]] = [json.loads(raw) for raw in function.get_raw_bindings()]
    triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
    if len(triggers) != 1:
        raise UnsupportedFunctionError(f"expected one trigger, found {len(triggers)}")
    trigger_binding = triggers[0]
    user_function = function.get_user_function()
    trigger_arg = str(trigger_binding["name"])
    trigger = _trigger(trigger_binding, user_function)
    http_output: str | None = None
    queue_outputs: list[QueueOutput] = []
    for binding in bindings:
        if binding is trigger_binding:
            continue
        kind = str(binding.get("type"))
        direction = str(binding.get("direction", "")).upper()
        if kind == "http" and direction == "OUT" and isinstance(trigger, HttpTrigger):
            http_output = str(binding["name"])
        elif kind == "queue" and direction == "OUT":
            queue_outputs.append(
                QueueOutput(
                    name=str(binding["name"]),
                    queue_name=resolve_queue_name(str(binding["queueName"])),
                    connection=_connection_name(binding),
                )
            )
        else:
            raise UnsupportedFunctionError(f"binding type {kind!r} ({direction}) is not supported")
    spec = FunctionSpec(
        name=name,
        user_function=user_function,
        trigger_arg=trigger_arg,
        trigger=trigger,
        directory=directory,
        http_output=http_output,
        queue_outputs=tuple(queue_outputs),
        wants_context=CONTEXT_PARAMETER in inspect.signature(user_function).parameters,
    )
    _check_parameters(spec)
    return spec


def _trigger(
    binding: dict[str, Any], user_function: Callable[..., Any]
) -> HttpTrigger | QueueTrigger | TimerTrigger:
    kind = binding["type"]
    if kind == "httpTrigger":
        methods = binding.get("methods")
        level = str(binding.get("authLevel") or "function").lower()
        if level not in ("anonymous", "function", "admin"):
            raise UnsupportedFunctionError(f"unknown authLevel {level!r}")
        auth: AuthLevel = (
            "anonymous" if level == "anonymous" else ("admin" if level == "admin" else "function")
        )
        return HttpTrigger(
            route=str(binding.get("route") or ""),
            methods=frozenset(str(m).upper() for m in methods) if methods else None,
            auth_level=auth,
        )
    if kind == "queueTrigger":
        return QueueTrigger(
            queue_name=resolve_queue_name(str(binding["queueName"])),
            connection=_connection_name(binding),
            arg_kind=_queue_arg_kind(user_function, str(binding["name"])),
        )
    if kind == "timerTrigger":
        return _timer_trigger(binding)
    raise UnsupportedFunctionError(f"trigger type {kind!r} is not supported by the local host")


def _timer_trigger(binding: dict[str, Any]) -> TimerTrigger:
    from localdev.host.timers import InvalidScheduleError, Schedule

    schedule = resolve_setting_references(str(binding.get("schedule") or ""))
    try:
        Schedule(schedule)
    except InvalidScheduleError as exc:
        raise UnsupportedFunctionError(str(exc)) from None
    return TimerTrigger(
        schedule=schedule,
        run_on_startup=bool(binding.get("runOnStartup", False)),
        use_monitor=bool(binding.get("useMonitor", True)),
    )


def _connection_name(binding: dict[str, Any]) -> str:
    return str(binding.get("connection") or DEFAULT_CONNECTION)


def resolve_setting_references(text: str) -> str:
    """Replace %NAME% with the app setting, as binding expressions do in Azure."""

    def lookup(match: re.Match[str]) -> str:
        value = os.environ.get(match[1])
        if value is None:
            raise UnsupportedFunctionError(f"app setting {match[1]!r} (from {text!r}) is not set")
        return value

    return _SETTING_REFERENCE.sub(lookup, text)


def resolve_queue_name(raw: str) -> str:
    """Queue names are lower-cased and validated by the host before any listener starts."""
    name = resolve_setting_references(raw).lower()
    if not _QUEUE_NAME.match(name):
        raise UnsupportedFunctionError(f"{name!r} is not a valid queue name")
    return name


def _queue_arg_kind(user_function: Callable[..., Any], arg: str) -> QueueArgKind:
    """Like the worker, a `str` or `bytes` annotation receives the body instead of a message."""
    parameter = inspect.signature(user_function).parameters.get(arg)
    annotation = parameter.annotation if parameter else inspect.Parameter.empty
    if annotation in (str, "str"):
        return "str"
    if annotation in (bytes, "bytes"):
        return "bytes"
    return "message"


def _check_parameters(spec: FunctionSpec) -> None:
    provided = {spec.trigger_arg, *(o.name for o in spec.queue_outputs)}
    if spec.http_output:
        provided.add(spec.http_output)
    if spec.wants_context:
        provided.add(CONTEXT_PARAMETER)
    for parameter in inspect.signature(spec.user_function).parameters.values():
        needs_value = parameter.default is inspect.Parameter.empty and parameter.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if needs_value and parameter.name not in provided:
            raise UnsupportedFunctionError(f"no binding provides parameter {parameter.name!r}")
