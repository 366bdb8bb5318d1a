"""How user functions are called: threads for sync code, the loop for coroutines."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import azure.functions as func
import pytest

from localdev.host.discovery import FunctionSpec, QueueOutput, QueueTrigger
from localdev.host.invoker import RETURN, FunctionTimeoutError, InvocationContext, Invoker


def _spec(function: Callable[..., Any], **overrides: Any) -> FunctionSpec:
    fields: dict[str, Any] = {
        "name": function.__name__,
        "user_function": function,
        "trigger_arg": "msg",
        "trigger": QueueTrigger(queue_name="q", connection="AzureWebJobsStorage"),
        "directory": ".",
    }
    return FunctionSpec(**{**fields, **overrides})


@pytest.fixture
def invoker() -> Iterator[Invoker]:
    running = Invoker(function_timeout=timedelta(milliseconds=200))
    yield running
    running.shutdown()


async def test_sync_function_runs_on_a_worker_thread(invoker: Invoker) -> None:
    def where(msg: str) -> str:
        return threading.current_thread().name

    result = await invoker.invoke(_spec(where), "x", reason="test")
    assert result.outputs[RETURN].startswith("function")


async def test_async_function_runs_on_the_event_loop_thread(invoker: Invoker) -> None:
    async def where(msg: str) -> str:
        return threading.current_thread().name

    result = await invoker.invoke(_spec(where), "x", reason="test")
    assert result.outputs[RETURN] == threading.current_thread().name


async def test_exception_becomes_a_failed_result(invoker: Invoker) -> None:
    def fails(msg: str) -> None:
        raise LookupError(msg)

    result = await invoker.invoke(_spec(fails), "no such thing", reason="test")
    assert not result.succeeded
    assert isinstance(result.error, LookupError)


async def test_function_timeout_fails_the_invocation(invoker: Invoker) -> None:
    async def hangs(msg: str) -> None:
        await asyncio.Event().wait()

    result = await invoker.invoke(_spec(hangs), "x", reason="test")
    assert isinstance(result.error, FunctionTimeoutError)


async def test_out_parameters_are_collected(invoker: Invoker) -> None:
    def writes(msg: str, out: func.Out[str]) -> None:
        out.set(msg.upper())

    spec = _spec(writes, queue_outputs=(QueueOutput("out", "other", "AzureWebJobsStorage"),))
    result = await invoker.invoke(spec, "hello", reason="test")
    assert result.outputs == {"out": "HELLO"}


async def test_context_carries_the_invocation_id(invoker: Invoker) -> None:
    def reports(msg: str, context: InvocationContext) -> str:
        return context.invocation_id

    result = await invoker.invoke(_spec(reports, wants_context=True), "x", reason="test")
    assert result.outputs[RETURN] == result.invocation_id
