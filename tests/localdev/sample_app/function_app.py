"""A v2 app exercising what the local host must support; it knows nothing of the host.

Queue functions write what they saw under $SAMPLE_RECORD_DIR so tests can observe them
from outside, whichever process runs the app.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

RECORD_DIR_ENV = "SAMPLE_RECORD_DIR"
FAIL_PREFIX = "fail"
PROBE_FIRST_WAVE = 2  # the first arrivals wait on gate-first, later ones on gate-rest


def _json(document: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(document), status_code=status, mimetype="application/json")


def _record_dir() -> Path:
    return Path(os.environ[RECORD_DIR_ENV])


@app.route(route="items/{id:int}/{name?}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def items(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route_params": dict(req.route_params), "params": dict(req.params)})


@app.route(route="echo", methods=["POST", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        req.get_body(),
        status_code=int(req.params.get("status", "200")),
        headers={"X-Echo": req.headers.get("x-input", ""), "X-Method": req.method},
        mimetype="application/octet-stream",
    )


@app.route(route="text", auth_level=func.AuthLevel.ANONYMOUS)
def text(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("héllo", status_code=202)


@app.route(route="secure")
def secure(req: func.HttpRequest) -> str:
    return "function-level ok"


@app.route(route="admin", auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> str:
    return "admin-level ok"


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    logging.getLogger("sample_app").warning("sample_app_about_to_fail")
    raise RuntimeError("the sample function failed on purpose")


@app.route(route="files/{*path}", auth_level=func.AuthLevel.ANONYMOUS)
def files(req: func.HttpRequest) -> str:
    return str(req.route_params.get("path", ""))


@app.function_name("whoami")
@app.route(route="whoami", auth_level=func.AuthLevel.ANONYMOUS)
async def who_am_i(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json({"function_name": context.function_name, "invocation_id": context.invocation_id})


@app.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="out", queue_name="%SAMPLE_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)


@app.queue_trigger(arg_name="msg", queue_name="%SAMPLE_QUEUE%", connection="AzureWebJobsStorage")
def recorder(msg: func.QueueMessage) -> None:
    """Records every delivery; a body starting with "fail" raises after recording."""
    body = msg.get_body().decode("utf-8", "replace")
    line = {"id": msg.id, "body": body, "dequeue_count": msg.dequeue_count}
    with (_record_dir() / "recorder.jsonl").open("a", encoding="utf-8") as records:
        records.write(json.dumps(line) + "\n")
    if body.startswith(FAIL_PREFIX):
        raise ValueError(f"asked to fail: {body}")


_probe = {"arrivals": 0, "in_flight": 0, "max_in_flight": 0, "done": 0}


def _gate_open(name: str) -> bool:
    return (_record_dir() / name).exists()


@app.queue_trigger(
    arg_name="msg", queue_name="%SAMPLE_PROBE_QUEUE%", connection="AzureWebJobsStorage"
)
async def probe(msg: func.QueueMessage) -> None:
    """Holds each message until the test opens its gate, counting how many run at once."""
    gate = "gate-first" if _probe["arrivals"] < PROBE_FIRST_WAVE else "gate-rest"
    _probe["arrivals"] += 1
    _probe["in_flight"] += 1
    _probe["max_in_flight"] = max(_probe["max_in_flight"], _probe["in_flight"])
    (_record_dir() / "probe.json").write_text(json.dumps(_probe))
    try:
        while not _gate_open(gate):  # noqa: ASYNC110  # a file, so any process can open it
            await asyncio.sleep(0.02)
    finally:
        _probe["in_flight"] -= 1
        _probe["done"] += 1
        (_record_dir() / "probe.json").write_text(json.dumps(_probe))
