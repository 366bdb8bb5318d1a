"""The per-day statistics against Azurite: each status counted once, as records move, and
a closed day read back from one row."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from shared.platform import metrics
from shared.storage.message_stats import StatusCount
from tests.integration.conftest import Gateway
from tests.integration.test_webhooks import call, sent_sms, status_callback
from tests.support.app import user_function
from tests.support.otel import in_memory_metrics
from tests.support.requests import api_post

pytestmark = pytest.mark.integration

CALLER = "+15557654321"


async def today(gateway: Gateway) -> dict[str, int]:
    day = datetime.now(UTC).date()
    (totals,) = await gateway.services.stats.days(day, day, day)
    return dict(totals.counts)


async def stats(**query: str) -> tuple[int, Any]:
    request = func.HttpRequest("GET", "http://localhost/api/stats", params=query, body=b"")
    response: func.HttpResponse = await user_function("statistics")(request)
    return response.status_code, json.loads(response.get_body())


async def test_an_accepted_send_is_counted(gateway: Gateway) -> None:
    await call("send_message", api_post("messages", {"to": CALLER, "body": "hi"}))

    assert await today(gateway) == {"sms~outbound~accepted~": 1}


async def test_a_delivered_sms_counts_accepted_sent_and_delivered_once_each(
    gateway: Gateway,
) -> None:
    record_id = await sent_sms(gateway)
    for status in ("sent", "delivered", "delivered"):
        await call("twilio_status", status_callback(record_id, status))

    counts = await today(gateway)

    assert counts == {
        "sms~outbound~accepted~": 1,
        "sms~outbound~sent~": 1,
        "sms~outbound~delivered~": 1,
        "sms~outbound~within_10s~": 1,
    }


async def test_an_undelivered_sms_is_counted_with_its_error_code(gateway: Gateway) -> None:
    record_id = await sent_sms(gateway)
    await call("twilio_status", status_callback(record_id, "undelivered", ErrorCode="30003"))

    assert (await today(gateway))["sms~outbound~undelivered~30003"] == 1


async def test_a_permanent_twilio_error_is_counted_failed_with_its_code(
    gateway: Gateway,
) -> None:
    from tests.support.fake_twilio import reply

    await call("send_message", api_post("messages", {"to": CALLER, "body": "hi"}))
    (message,) = await gateway.queued_messages()
    gateway.twilio.script(reply(400, {"code": 21211, "message": "bad To", "status": 400}))
    await user_function("outbound_worker")(message)

    assert (await today(gateway))["sms~outbound~failed~21211"] == 1


async def test_a_closed_day_is_read_from_its_totals_row(gateway: Gateway) -> None:
    stats_store = gateway.services.stats
    old = datetime.now(UTC) - timedelta(days=5)
    for n in range(3):
        await stats_store.count(StatusCount(f"old-{n}", "sms", "outbound", "delivered", old))
    day, today_ = old.date(), datetime.now(UTC).date()

    first = await stats_store.days(day, day, today_)
    reads_before = stats_store.reads
    second = await stats_store.days(day, day, today_)

    assert first[0].counts == second[0].counts == {"sms~outbound~delivered~": 3}
    assert stats_store.reads - reads_before == 1


async def test_stats_api_answers_each_day_newest_first(gateway: Gateway) -> None:
    await call("send_message", api_post("messages", {"to": CALLER, "body": "hi"}))
    today_ = datetime.now(UTC).date()

    status, body = await stats()

    assert status == 200
    assert [day["day"] for day in body["days"]] == [
        (today_ - timedelta(days=n)).isoformat() for n in range(7)
    ]
    assert body["days"][0]["counts"] == {"sms~outbound~accepted~": 1}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "since"),
        ({"since": "2026-01-01", "until": "2026-12-01"}, "since"),
        ({"days": "7"}, "days"),
    ],
)
async def test_bad_stats_parameters_get_400_naming_them(
    gateway: Gateway, query: dict[str, str], field: str
) -> None:
    status, body = await stats(**query)

    assert status == 400 and body["error"]["field"] == field


async def test_days_before_1970_are_clamped_not_overflowed(gateway: Gateway) -> None:
    status, body = await stats(since="0001-01-01", until="0001-01-02")

    assert status == 200
    assert body["since"] == body["until"] == date(1970, 1, 1).isoformat()


async def test_a_delivered_sms_emits_its_metrics(gateway: Gateway) -> None:
    reader = in_memory_metrics()
    record_id = await sent_sms(gateway)
    await call("twilio_status", status_callback(record_id, "undelivered", ErrorCode="30003"))

    points = _points(reader)

    assert points[metrics.ACCEPTED] >= 1
    assert points[metrics.TIME_TO_SENT] >= 1
    assert points[f"{metrics.FINAL} undelivered 30003"] >= 1


def _points(reader: Any) -> dict[str, float]:
    """Counter sums and histogram counts by name (finals also by status and code)."""
    found: dict[str, float] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    value = point.count if value is None else value
                    name = metric.name
                    if name == metrics.FINAL:
                        attributes = point.attributes or {}
                        name = f"{name} {attributes['status']} {attributes.get('error_code', '')}"
                    found[name] = found.get(name, 0) + value
    return found
