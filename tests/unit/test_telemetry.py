"""Azure Monitor is configured only when Application Insights is set up, and only once."""

from __future__ import annotations

import json
import os
from typing import Any

import azure.monitor.opentelemetry
import pytest

from shared.platform import telemetry
from tests.support.fresh_python import run_python

CONNECTION_STRING = "InstrumentationKey=00000000-0000-0000-0000-000000000000"


@pytest.fixture
def configure_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stands in for the distro's ``configure_azure_monitor``, recording its arguments."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(telemetry, "_configured", False)
    monkeypatch.setattr(
        azure.monitor.opentelemetry, "configure_azure_monitor", lambda **kw: calls.append(kw)
    )
    return calls


def test_connection_string_configures_azure_monitor_for_the_gateway_logger(
    configure_calls: list[dict[str, Any]],
) -> None:
    assert telemetry.configure_azure_monitor_if_enabled(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION_STRING}
    )

    (call,) = configure_calls
    assert (call["connection_string"], call["logger_name"]) == (CONNECTION_STRING, "gateway")


def test_instrumentations_that_record_urls_stay_off(
    configure_calls: list[dict[str, Any]],
) -> None:
    """The opt-out table is keyed by phone number, so storage URLs would carry numbers."""
    telemetry.configure_azure_monitor_if_enabled(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION_STRING}
    )

    options = configure_calls[0]["instrumentation_options"]
    assert options["azure_sdk"] == {"enabled": False}
    assert options["requests"] == {"enabled": False}


def test_configuration_happens_once_per_process(configure_calls: list[dict[str, Any]]) -> None:
    env = {"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION_STRING}

    telemetry.configure_azure_monitor_if_enabled(env)
    assert not telemetry.configure_azure_monitor_if_enabled(env)

    assert len(configure_calls) == 1


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_no_connection_string_configures_nothing(
    configure_calls: list[dict[str, Any]], value: str
) -> None:
    assert not telemetry.configure_azure_monitor_if_enabled(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": value}
    )
    assert not telemetry.configure_azure_monitor_if_enabled({})

    assert configure_calls == []


def test_worker_that_configures_telemetry_itself_is_left_to_it(
    configure_calls: list[dict[str, Any]],
) -> None:
    telemetry.configure_azure_monitor_if_enabled(
        {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION_STRING,
            "PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY": "true",
        }
    )

    assert configure_calls == []


def test_malformed_connection_string_is_logged_and_the_app_still_loads() -> None:
    env = {**os.environ, "APPLICATIONINSIGHTS_CONNECTION_STRING": "not-a-connection-string"}

    result = run_python("import function_app; print(len(function_app.app.get_functions()))", env)

    assert int(result.stdout) > 0
    assert "telemetry_not_configured setting=APPLICATIONINSIGHTS_CONNECTION_STRING" in (
        result.stderr
    )


def test_importing_the_app_without_application_insights_loads_no_telemetry_or_identity() -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "APPLICATIONINSIGHTS_CONNECTION_STRING"
    }
    code = (
        "import function_app, json, sys; print(json.dumps(sorted(m for m in sys.modules if "
        "m.startswith(('azure.monitor', 'opentelemetry', 'azure.identity')))))"
    )

    result = run_python(code, env)

    assert json.loads(result.stdout) == []
