"""The gateway's OpenTelemetry metrics: names, attributes, and the workbook that charts them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shared.platform import metrics
from tests.support.fresh_python import run_python
from tests.support.otel import in_memory_metrics

WORKBOOK = Path(__file__).resolve().parents[2] / "infra" / "workbook" / "gateway.workbook.json"


def emitted() -> dict[str, list[dict[str, Any]]]:
    """Every data point read from the meter provider, by metric name."""
    data = in_memory_metrics().get_metrics_data()
    points: dict[str, list[dict[str, Any]]] = {}
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    points.setdefault(metric.name, []).append(dict(point.attributes or {}))
    return points


def emit_one_of_each() -> None:
    in_memory_metrics()
    metrics.accepted("sms", "outbound")
    metrics.sent("sms", "outbound")
    metrics.taken_by_twilio("sms", 1.5)
    metrics.final("sms", "outbound", "delivered", None, 3.0)
    metrics.final("sms", "outbound", "undelivered", 30003, None)


def test_every_named_metric_is_emitted() -> None:
    emit_one_of_each()

    assert set(metrics.NAMES) <= set(emitted())


def test_final_statuses_carry_kind_status_and_twilio_error_code() -> None:
    emit_one_of_each()

    finals = emitted()[metrics.FINAL]

    assert {"kind": "sms", "direction": "outbound", "status": "undelivered",
            "error_code": "30003"} in finals  # fmt: skip


def _charted(workbook: dict[str, Any]) -> set[str]:
    queries = [
        item["content"]["query"]
        for item in workbook["items"]
        if item.get("type") == 3 and "query" in item.get("content", {})
    ]
    names: set[str] = set()
    for query in queries:
        names.update(re.findall(r"\"(gateway\.[a-z_.]*[a-z_])\"", query))
    return names


def test_the_workbook_parses_and_charts_only_metrics_the_code_emits() -> None:
    with open(WORKBOOK) as file:
        workbook = json.load(file)

    charted = _charted(workbook)

    assert workbook["version"] == "Notebook/1.0"
    assert charted
    assert charted <= set(metrics.NAMES)


def test_the_workbook_charts_every_metric() -> None:
    with open(WORKBOOK) as file:
        charted = _charted(json.load(file))

    assert set(metrics.NAMES) <= charted


def test_metrics_do_not_load_opentelemetry_until_used() -> None:
    result = run_python(
        "import shared.platform.metrics, sys; print('opentelemetry.metrics' in sys.modules)"
    )

    assert result.stdout.strip() == "False"
