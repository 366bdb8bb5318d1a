"""Latency of Twilio's signed inbound-SMS webhook, against a bare app in the same host.

The bare app is one function answering static TwiML, generated into a directory and run by
the same local host, so what the ratio shows is the gateway's own cost per webhook.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
from pathlib import Path

import aiohttp
from twilio.request_validator import RequestValidator

from localdev.azurite import PROJECT_ROOT

CLIENTS = 50
PATH = "/api/twilio/sms"

BARE_APP = """\
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks</Message></Response>'


@app.route(route="twilio/sms", methods=["POST"])
async def twilio_sms(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(TWIML, mimetype="application/xml")
"""


def write_bare_app(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    (target / "function_app.py").write_text(BARE_APP, encoding="utf-8")
    shutil.copy(PROJECT_ROOT / "host.json", target / "host.json")
    return target


def signed_requests(
    base_url: str, auth_token: str, to: str, count: int, start: int = 0
) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(form, headers) pairs signed as Twilio signs them, made before the clock starts; each
    with its own MessageSid from ``start`` on, so that no request repeats an earlier one."""
    validator = RequestValidator(auth_token)
    url = base_url + PATH
    signed = []
    for index in range(start, start + count):
        form = {
            "MessageSid": f"SM{index:032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": f"+1555{index % 10_000_000:07d}",
            "To": to,
            "Body": "hello",
            "NumMedia": "0",
        }
        signed.append((form, {"X-Twilio-Signature": validator.compute_signature(url, form)}))
    return signed


async def latencies(
    base_url: str, signed: list[tuple[dict[str, str], dict[str, str]]]
) -> list[float]:
    """Seconds per request, with ``CLIENTS`` clients each sending one request at a time."""
    pending = iter(signed)
    seconds: list[float] = []

    async def client(http: aiohttp.ClientSession) -> None:
        for form, headers in pending:
            started = time.perf_counter()
            async with http.post(base_url + PATH, data=form, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"webhook answered {answer.status}: {await answer.text()}")
            seconds.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    return seconds


def percentiles(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}
