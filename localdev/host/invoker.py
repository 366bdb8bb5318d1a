"""Runs user functions as the Python worker does: coroutines on the event loop, plain
functions on a thread pool, with the host's Executing/Executed log lines around each.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import azure.functions as func

from localdev.host.discovery import CONTEXT_PARAMETER, FunctionSpec

log = logging.getLogger(__name__)

THREAD_COUNT_ENV = "PYTHON_THREADPOOL_THREAD_COUNT"
RETURN = "$return"
T = TypeVar("T")


class FunctionTimeoutError(TimeoutError):
    """The invocation outlived host.json's functionTimeout."""


@dataclass(frozen=True)
class InvocationContext:
    """The attributes of `func.Context` an app can rely on locally."""

    invocation_id: str
    function_name: str
    function_directory: str
    thread_local_storage: threading.local = field(default_factory=threading.local)
    trace_context: None = None
    retry_context: None = None


class OutputValue(func.Out[T]):
    """The `func.Out` the worker passes for an output binding parameter."""

    def __init__(self) -> None:
        self._value: T | None = None
        self.is_set = False

    def set(self, val: T) -> None:
        self._value = val
        self.is_set = True

    def get(self) -> T:
        return self._value  # type: ignore[return-value]  # unset reads as None, like the worker


@dataclass
class InvocationResult:
    invocation_id: str
    function_name: str
    outputs: dict[str, Any]  # output binding name (or "$return") -> value that was set
    error: BaseException | None
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.error is None


class Invoker:
    def __init__(self, function_timeout: timedelta | None = None) -> None:
        self._timeout = function_timeout.total_seconds() if function_timeout else None
        threads = os.environ.get(THREAD_COUNT_ENV)
        self._executor = ThreadPoolExecutor(
            max_workers=int(threads) if threads else None, thread_name_prefix="function"
        )

    async def invoke(
        self, spec: FunctionSpec, trigger_value: Any, *, reason: str, details: str = ""
    ) -> InvocationResult:
        invocation_id = str(uuid.uuid4())
        outs: dict[str, OutputValue[Any]] = {
            name: OutputValue() for name in _out_parameters(spec) if name != RETURN
        }
        kwargs: dict[str, Any] = {spec.trigger_arg: trigger_value, **outs}
        if spec.wants_context:
            kwargs[CONTEXT_PARAMETER] = InvocationContext(invocation_id, spec.name, spec.directory)
        suffix = f", {details}" if details else ""
        log.info(
            "Executing 'Functions.%s' (Reason=%r, Id=%s%s)",
            spec.name,
            reason,
            invocation_id,
            suffix,
        )
        started = time.perf_counter()
        error: BaseException | None = None
        outputs: dict[str, Any] = {}
        try:
            value = await self._run(spec, kwargs)
            outputs = {name: out.get() for name, out in outs.items() if out.is_set}
            if value is not None:
                outputs[RETURN] = value
        except asyncio.CancelledError:
            duration = (time.perf_counter() - started) * 1000
            log.warning(
                "Executed 'Functions.%s' (Cancelled, Id=%s, Duration=%.0fms)",
                spec.name,
                invocation_id,
                duration,
            )
            raise
        except Exception as exc:  # noqa: BLE001  # any user error is the invocation's outcome
            error = exc
        duration = (time.perf_counter() - started) * 1000
        if error is None:
            log.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms%s)",
                spec.name,
                invocation_id,
                duration,
                suffix,
            )
        else:
            log.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms%s)",
                spec.name,
                invocation_id,
                duration,
                suffix,
                exc_info=error,
            )
        return InvocationResult(invocation_id, spec.name, outputs, error, duration)

    async def _run(self, spec: FunctionSpec, kwargs: dict[str, Any]) -> Any:
        if spec.is_async:
            running: asyncio.Future[Any] = asyncio.ensure_future(spec.user_function(**kwargs))
        else:
            call = functools.partial(spec.user_function, **kwargs)
            context = contextvars.copy_context()
            running = asyncio.get_running_loop().run_in_executor(
                self._executor, functools.partial(context.run, call)
            )
        if self._timeout is None:
            return await running
        try:
            return await asyncio.wait_for(running, self._timeout)
        except TimeoutError as exc:
            raise FunctionTimeoutError(
                f"{spec.name} exceeded functionTimeout ({self._timeout:g}s)"
            ) from exc

    def shutdown(self) -> None:
        """Threads still running user code cannot be interrupted; they are left to finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _out_parameters(spec: FunctionSpec) -> list[str]:
    names = [output.name for output in spec.queue_outputs]
    if spec.http_output:
        names.append(spec.http_output)
    return names
