"""The send API against its own OpenAPI document: served as shipped, and fuzzed by schemathesis.

Valid and invalid requests generated from ``shared/handlers/openapi.json`` go to the running
stack; no answer may be a 5xx, and every answer must match the document (status, content type,
schema).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from localdev.azurite import PROJECT_ROOT
from localdev.stack import Stack
from tests.e2e.conftest import FUNCTION_KEY, RunningStack

pytestmark = pytest.mark.e2e

DOCUMENT = PROJECT_ROOT / "shared" / "handlers" / "openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def test_document_is_served_with_the_function_key(stack: RunningStack) -> None:
    status, body = await stack.api("GET", "/api/openapi.json")

    assert status == 200
    assert body == json.loads(DOCUMENT.read_text())
    assert body["openapi"].startswith("3.1")


async def test_document_needs_the_function_key(stack: RunningStack) -> None:
    async with stack.http.get(f"{stack.base_url}/api/openapi.json") as response:
        assert response.status == 401


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# An id outside the documented pattern may be refused by the host's router before the app
# sees it, so the status routes are fuzzed with valid-looking ids only.
OPERATIONS = [
    ("POST", "/messages", POSITIVE),
    ("POST", "/messages", NEGATIVE),
    ("POST", "/calls", POSITIVE),
    ("POST", "/calls", NEGATIVE),
    ("GET", "/messages/{id}", POSITIVE),
    ("GET", "/calls/{id}", POSITIVE),
    ("GET", "/messages", POSITIVE),
    ("GET", "/messages", NEGATIVE),
    ("GET", "/calls", POSITIVE),
    ("GET", "/calls", NEGATIVE),
    ("DELETE", "/numbers/{number}", POSITIVE),
    ("GET", "/stats", POSITIVE),
    ("GET", "/stats", NEGATIVE),
    ("GET", "/events/dead-letters", POSITIVE),
    ("GET", "/events/dead-letters", NEGATIVE),
    ("POST", "/events/dead-letters/replay", POSITIVE),
    ("POST", "/events/dead-letters/replay", NEGATIVE),
]
# The whole run's budget, shared out: more operations mean fewer examples each, not a slower suite.
EXAMPLES = 300
EXAMPLES_PER_OPERATION = EXAMPLES // len(OPERATIONS)


def _stays_local(case: Any) -> bool:
    """A valid ``callback_url`` would be accepted and its events sent to whatever host it
    names: the fuzzer's stay on this machine (the field's rules have tests of their own)."""
    body = getattr(case, "body", None)
    url = body.get("callback_url") if isinstance(body, dict) else None
    return not isinstance(url, str) or url.startswith(("http://127.0.0.1", "http://localhost"))


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_api_conforms_to_its_document_and_never_answers_5xx(
    stack_processes: tuple[Stack, int],
    method: str,
    path: str,
    mode: schemathesis.GenerationMode,
) -> None:
    processes, _ = stack_processes
    schema = schemathesis.openapi.from_path(DOCUMENT)
    operation = schema[path][method]
    base_url = f"{processes.base_url}/api"
    session = requests.Session()
    session.headers["x-functions-key"] = FUNCTION_KEY

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        # The same examples on every run: CI must not fail by chance.
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode).filter(_stays_local))
    def exercise(case: Any) -> None:
        case.call_and_validate(base_url=base_url, session=session, checks=CHECKS)

    with session:
        exercise()
