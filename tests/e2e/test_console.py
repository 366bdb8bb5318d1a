"""The operator console in a real headless Chromium, against the whole local stack.

Playwright drives Debian's ``chromium`` (Playwright cannot download its own browser here);
``make test`` installs it, and with ``CI=true`` a missing browser fails instead of skipping.
Screenshots go to ``.localdev/screenshots``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables.aio import TableClient
from playwright.async_api import Browser, Page, async_playwright

from localdev.azurite import PROJECT_ROOT
from shared.storage.message_stats import TOTALS, StatusCount, count_entity, partition
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

SCREENSHOTS = PROJECT_ROOT / ".localdev" / "screenshots"
TO = "+15558675310"
XSS_BODY = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://example.invalid","x")'
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "no chromium on PATH: apt-get install -y chromium (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    opened = await context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: dialogs.append(dialog.message))
    yield opened
    await context.close()
    assert dialogs == [], f"the page opened dialogs: {dialogs}"


async def _open(page: Page, stack: RunningStack, key: str | None = None) -> None:
    await page.goto(f"{stack.base_url}/api/console")
    await page.fill("#key", key or stack.function_key)
    await page.click("#key-form button[type=submit]")
    if key is None:
        await page.wait_for_selector("#records[data-renders]")


async def _screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def _send_tagged(
    stack: RunningStack, tag: str, count: int, outcome: str = "delivered", **extra: Any
) -> list[str]:
    await stack.sim("POST", "/_sim/behaviour", json={"message_outcome": outcome})
    ids = [await stack.send_sms(TO, f"note {i}", tag=tag, **extra) for i in range(count)]
    for record_id in ids:
        await stack.final("sms", record_id, {outcome})
    return ids


async def _search(page: Page, **filters: str) -> None:
    for name, value in filters.items():
        selector = f"#f-{name}"
        if name in ("status", "direction", "kind", "limit"):
            await page.select_option(selector, value)
        else:
            await page.fill(selector, value)
    await _rerender(page, page.click("#filters button[type=submit]"))


async def _rerender(page: Page, action: Awaitable[None]) -> None:
    """Runs ``action`` and waits until the log table shows its answer."""
    before = await page.get_attribute("#records", "data-renders")
    await action
    # A selector, not a script: the page's CSP refuses evaluated strings.
    await page.wait_for_selector(f"#records[data-renders]:not([data-renders='{before}'])")


async def _rows(page: Page) -> list[str]:
    ids: list[str] = await page.eval_on_selector_all(
        "#records tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)"
    )
    return ids


async def _today(stack: RunningStack) -> dict[str, int]:
    status, body = await stack.api("GET", "/api/stats")
    assert status == 200, body
    return dict(body["days"][0]["counts"])


async def _week(stack: RunningStack) -> dict[str, int]:
    status, body = await stack.api("GET", "/api/stats")
    assert status == 200, body
    week: dict[str, int] = {}
    for day in body["days"]:
        for key, value in day["counts"].items():
            week[key] = week.get(key, 0) + value
    return week


def _all_codes(counts: dict[str, int], status: str) -> int:
    prefix = f"sms~outbound~{status}~"
    return sum(value for key, value in counts.items() if key.startswith(prefix))


def _count(counts: dict[str, int], status: str, code: str = "") -> int:
    return counts.get(f"sms~outbound~{status}~{code}", 0)


async def test_totals_match_what_was_sent(stack: RunningStack, page: Page) -> None:
    await stack.sim("GET", "/_sim/idle")
    before = await _today(stack)
    tag = f"totals-{uuid.uuid4().hex[:8]}"
    await _send_tagged(stack, tag, 3, "delivered")
    await _send_tagged(stack, tag, 2, "undelivered")
    after = await _today(stack)

    assert _count(after, "accepted") - _count(before, "accepted") == 5
    assert _count(after, "delivered") - _count(before, "delivered") == 3
    assert _count(after, "undelivered", "30003") - _count(before, "undelivered", "30003") == 2
    await _open(page, stack)
    row = page.locator("#totals tr[data-kind=sms][data-direction=outbound]")
    await row.wait_for()
    shown = {
        name: await row.locator(f"[data-figure={name}]").inner_text()
        for name in ("accepted", "delivered", "undelivered", "failure-rate")
    }
    week = await _week(stack)
    assert int(shown["accepted"]) == _all_codes(week, "accepted")
    assert int(shown["delivered"]) == _all_codes(week, "delivered")
    assert int(shown["undelivered"]) == _all_codes(week, "undelivered")
    assert await page.locator("#warnings .warning").count() >= 1
    assert await page.locator("#chart svg rect[data-outcome=delivered]").count() >= 1
    await _screenshot(page, "console-totals")


async def test_filters_and_paging_go_newest_first(stack: RunningStack, page: Page) -> None:
    tag = f"paging-{uuid.uuid4().hex[:8]}"
    ids = await _send_tagged(stack, tag, 3)
    await _open(page, stack)

    await _search(page, tag=tag, limit="10")
    assert await _rows(page) == list(reversed(ids))
    await _search(page, number=TO, id=ids[1])
    assert await _rows(page) == [ids[1]]
    await _search(page, id="", direction="inbound", tag=tag)
    assert await _rows(page) == []


async def test_paging_follows_the_continuation(stack: RunningStack, page: Page) -> None:
    tag = f"pages-{uuid.uuid4().hex[:8]}"
    ids = await _send_tagged(stack, tag, 12)
    await _open(page, stack)

    await _search(page, tag=tag, limit="10")
    first = await _rows(page)
    await _rerender(page, page.click("#next-page"))
    second = await _rows(page)

    assert first + second == list(reversed(ids))
    assert await page.locator("#next-page").is_disabled()


async def test_status_tab_finds_failed_records_among_delivered_ones(
    stack: RunningStack, page: Page
) -> None:
    tag = f"status-{uuid.uuid4().hex[:8]}"
    failed = await _send_tagged(stack, tag, 1, "undelivered")
    await _send_tagged(stack, tag, 4, "delivered")
    await _open(page, stack)

    await _search(page, tag=tag, status="undelivered", limit="10")

    assert await _rows(page) == failed


async def test_csv_holds_the_filtered_rows(stack: RunningStack, page: Page) -> None:
    tag = f"csv-{uuid.uuid4().hex[:8]}"
    ids = await _send_tagged(stack, tag, 3)
    ids.append(await stack.send_sms(TO, FORMULA, tag=tag))
    await stack.final("sms", ids[-1], {"delivered"})
    await _send_tagged(stack, f"other-{tag}", 1)
    await _open(page, stack)
    await _search(page, tag=tag)
    await _rows(page)

    async with page.expect_download() as download_info:
        await page.click("#csv")
    download = await download_info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text)
    rows = list(csv.DictReader(io.StringIO(text)))

    assert [row["id"] for row in rows] == list(reversed(ids))
    assert {row["tag"] for row in rows} == {tag}
    assert {row["to"] for row in rows} == {"+1555***5310"}
    assert rows[0]["body"] == "'" + FORMULA


async def test_a_records_timeline_shows_its_statuses_in_order(
    stack: RunningStack, page: Page
) -> None:
    tag = f"timeline-{uuid.uuid4().hex[:8]}"
    (record_id,) = await _send_tagged(stack, tag, 1, "undelivered", traceparent=TRACEPARENT)
    await _open(page, stack)
    await _search(page, id=record_id)
    await _rows(page)

    await page.click(f"#records tr[data-id='{record_id}'] button")
    await page.wait_for_selector("#timeline tbody tr")
    statuses = await page.eval_on_selector_all(
        "#timeline tbody tr", "rows => rows.map(r => r.dataset.status)"
    )
    times = await page.eval_on_selector_all(
        "#timeline tbody tr td:first-child", "cells => cells.map(c => c.textContent)"
    )
    link = page.locator("#timeline a[href='https://www.twilio.com/docs/api/errors/30003']")

    assert statuses[0] == "accepted"
    assert statuses[-1] == "undelivered"
    assert statuses.index("sending") < statuses.index("undelivered")
    assert times == sorted(times)
    assert await link.count() >= 1
    assert "Unreachable destination handset" in await page.inner_text("#timeline")
    assert TRACE_ID in await page.inner_text("#record-fields")
    await _screenshot(page, "console-record")


async def test_a_body_that_looks_like_html_stays_text(stack: RunningStack, page: Page) -> None:
    record_id = await stack.send_sms(TO, XSS_BODY)
    await stack.final("sms", record_id, {"delivered"})
    await _open(page, stack)
    await _search(page, id=record_id)
    await _rows(page)

    cell = page.locator(f"#records tr[data-id='{record_id}'] td.body")
    assert await cell.inner_text() == XSS_BODY
    assert await page.locator("#records img").count() == 0
    await page.click(f"#records tr[data-id='{record_id}'] button")
    await page.wait_for_selector("#record-fields dd")
    assert XSS_BODY in await page.inner_text("#record-fields")
    assert await page.locator("#record img").count() == 0


async def test_numbers_are_masked_until_shown(stack: RunningStack, page: Page) -> None:
    tag = f"mask-{uuid.uuid4().hex[:8]}"
    (record_id,) = await _send_tagged(stack, tag, 1)
    await _open(page, stack)
    await _search(page, tag=tag)
    await _rows(page)
    to_cell = page.locator(f"#records tr[data-id='{record_id}'] td:nth-child(4)")

    assert await to_cell.inner_text() == "+1555***5310"
    await page.check("#reveal")
    assert await to_cell.inner_text() == TO


async def test_a_wrong_key_is_refused(stack: RunningStack, page: Page) -> None:
    await _open(page, stack, key="not-the-key")

    await page.wait_for_selector("#login-error:has-text('refused')")
    assert await page.locator("#console").is_hidden()
    assert await page.evaluate("sessionStorage.length") == 0
    await _screenshot(page, "console-wrong-key")


async def test_forget_key_clears_it_from_the_tab(stack: RunningStack, page: Page) -> None:
    await _open(page, stack)
    assert await page.evaluate("sessionStorage.length") == 1

    await page.click("#forget")

    assert await page.evaluate("sessionStorage.length") == 0
    assert await page.locator("#login").is_visible()


async def test_the_key_never_travels_in_a_url(stack: RunningStack, page: Page) -> None:
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    await _open(page, stack)
    await page.wait_for_selector("#totals tbody tr")

    assert urls
    assert not [url for url in urls if stack.function_key in url or "code=" in url]


async def test_an_inbound_text_is_in_the_log_with_its_media_as_a_link(
    stack: RunningStack, page: Page
) -> None:
    sender = f"+1555{uuid.uuid4().int % 10**7:07d}"
    media = "https://api.twilio.com/media/ME1.jpg"
    await stack.sim(
        "POST",
        "/_sim/inbound/sms",
        json={
            "url": f"{stack.base_url}/api/twilio/sms",
            "from": sender,
            "to": "+15005550006",
            "body": "the photo",
            "media_urls": [media],
        },
    )
    await _open(page, stack)

    await _search(page, direction="inbound", number=sender)
    (record_id,) = await _rows(page)
    await page.click(f"#records tr[data-id='{record_id}'] button")
    await page.wait_for_selector("#record-fields dd")

    assert record_id.startswith(("SM", "MM"))
    assert await page.locator(f"#record-fields a[href='{media}']").count() == 1


async def test_the_time_range_and_sid_filters_narrow_the_log(
    stack: RunningStack, page: Page
) -> None:
    tag = f"range-{uuid.uuid4().hex[:8]}"
    (record_id,) = await _send_tagged(stack, tag, 1)
    sid = (await stack.record("sms", record_id))["twilio_sid"]
    await _open(page, stack)

    await _search(page, tag=tag, until="2000-01-01T00:00")
    assert await _rows(page) == []
    await _search(page, tag=tag, since="2999-01-01T00:00", until="")
    assert await _rows(page) == []
    assert "'since' is after 'until'" in await page.inner_text("#log-error")
    await _search(page, tag="", since="", sid=sid)
    assert await _rows(page) == [record_id]


def test_a_missing_browser_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        _chromium()


def test_a_missing_browser_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception):
        _chromium()


async def _seed_past_week(stack: RunningStack) -> dict[str, int]:
    """Counts for the six days before today, written as the gateway writes them; returns
    each day's delivered count. Runs last: the totals test reads the week as sent."""
    delivered: dict[str, int] = {}
    now = datetime.now(UTC)
    async with TableClient.from_connection_string(stack.storage, "MessageStats") as table:
        for back in range(1, 7):
            at = now - timedelta(days=back)
            sent = 40 + 9 * back
            failures = back % 3
            rows = []
            for n in range(sent):
                record_id = f"seed-{back}-{n}"
                final = "undelivered" if n < failures else "delivered"
                code = 30003 if n < failures else None
                for status, seconds in (("accepted", 0), ("sent", 1), (final, 4 + n % 9)):
                    count = StatusCount(
                        record_id, "sms", "outbound", status, at + timedelta(seconds=seconds),
                        code if status == final else None,
                    )  # fmt: skip
                    rows.append(count_entity(count))
            for start in range(0, len(rows), 100):
                batch = rows[start : start + 100]
                await table.submit_transaction([("upsert", row) for row in batch])
            # A closed day is summed once; these rows arrive late, so it is summed again.
            await table.delete_entity(partition(at.date()), TOTALS)
            delivered[at.date().isoformat()] = sent - failures
    return delivered


async def test_zz_the_chart_draws_each_day_of_the_week(stack: RunningStack, page: Page) -> None:
    tag = f"week-{uuid.uuid4().hex[:8]}"
    (record_id,) = await _send_tagged(stack, tag, 1, "undelivered", traceparent=TRACEPARENT)
    delivered = await _seed_past_week(stack)
    await _open(page, stack)

    for day, count in delivered.items():
        bar = page.locator(f"#chart rect[data-day='{day}'][data-outcome=delivered] title")
        assert await bar.text_content() == f"{day} delivered: {count}"
    await _search(page, id=record_id)
    await page.click(f"#records tr[data-id='{record_id}'] button")
    await page.wait_for_selector("#timeline tbody tr")
    await _screenshot(page, "console-readme")
