"""The Python worker for 3.13 and later (``azure-functions-runtime``) indexes every function.

It runs on Python 3.13+ only, so this runs under ``make test-py313``, which points
``RUNTIME_INDEX_PYTHON`` at a venv holding ``requirements.txt`` alone (as Azure installs it)
plus the worker.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_function_app import HTTP_FUNCTIONS, QUEUE_FUNCTIONS, TIMER_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
IN, OUT = "0", "1"

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 13), reason="azure-functions-runtime is the worker for Python 3.13+"
)


@pytest.fixture(scope="module")
def indexed() -> dict[str, dict[str, Any]]:
    result = subprocess.run(
        [
            os.environ.get("RUNTIME_INDEX_PYTHON", sys.executable),
            "-m",
            "tests.support.runtime_index",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return {function["name"]: function for function in json.loads(result.stdout)}


def test_worker_indexes_exactly_the_apps_functions(indexed: dict[str, dict[str, Any]]) -> None:
    assert set(indexed) == set(HTTP_FUNCTIONS) | set(QUEUE_FUNCTIONS) | set(TIMER_FUNCTIONS)


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_worker_binds_http_functions_to_request_and_response(
    indexed: dict[str, dict[str, Any]], name: str
) -> None:
    assert indexed[name]["is_async"]
    assert indexed[name]["bindings"] == [["$return", "http", OUT], ["req", "httpTrigger", IN]]


def test_worker_binds_the_queue_trigger(indexed: dict[str, dict[str, Any]]) -> None:
    assert indexed["outbound_worker"]["is_async"]
    assert indexed["outbound_worker"]["bindings"] == [["msg", "queueTrigger", IN]]


def test_worker_binds_the_retention_timer(indexed: dict[str, dict[str, Any]]) -> None:
    assert indexed["retention_purge"]["is_async"]
    assert indexed["retention_purge"]["bindings"] == [["timer", "timerTrigger", IN]]
