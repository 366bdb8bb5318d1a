"""Timer triggers in the local host: NCRONTAB schedules with %SETTING%, runOnStartup, the
admin API that runs one now, and schedules the real host would refuse."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from localdev.host import LocalHost
from localdev.host.timers import InvalidScheduleError, Schedule

APP = """
import json, os
import azure.functions as func

app = func.FunctionApp()


def _record(name: str, timer: func.TimerRequest) -> None:
    with open(os.environ["TIMER_RECORDS"], "a") as out:
        out.write(json.dumps({"name": name, "past_due": timer.past_due}) + "\\n")


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer")
async def every_second(timer: func.TimerRequest) -> None:
    _record("every_second", timer)


@app.timer_trigger(schedule="0 0 3 1 1 *", arg_name="timer", run_on_startup=True)
def yearly(timer: func.TimerRequest) -> None:
    _record("yearly", timer)


@app.timer_trigger(schedule="every day at noon", arg_name="timer")
def unparseable(timer: func.TimerRequest) -> None:
    _record("unparseable", timer)
"""
MASTER_KEY = "test-master-key"


def runs(records: Path, name: str) -> int:
    if not records.exists():
        return 0
    return sum(json.loads(line)["name"] == name for line in records.read_text().splitlines())


@pytest.fixture
async def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalHost:
    (tmp_path / "function_app.py").write_text(APP)
    (tmp_path / "host.json").write_text('{"version": "2.0"}')
    monkeypatch.setenv("TIMER_RECORDS", str(tmp_path / "records.jsonl"))
    monkeypatch.setenv("TICK_SCHEDULE", "*/1 * * * * *")
    monkeypatch.setenv("LOCALDEV_MASTER_KEY", MASTER_KEY)
    return LocalHost(tmp_path, port=0)


async def wait_for(check: object, seconds: float = 5.0) -> bool:
    assert callable(check)
    for _ in range(int(seconds * 20)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_timer_runs_on_its_schedule_resolved_from_a_setting(
    host: LocalHost, tmp_path: Path
) -> None:
    async with host:
        assert await wait_for(lambda: runs(tmp_path / "records.jsonl", "every_second") >= 2)


async def test_run_on_startup_runs_a_timer_once_when_the_host_starts(
    host: LocalHost, tmp_path: Path
) -> None:
    async with host:
        assert await wait_for(lambda: runs(tmp_path / "records.jsonl", "yearly") == 1)


async def test_a_schedule_the_host_cannot_read_skips_that_function_naming_why(
    host: LocalHost,
) -> None:
    async with host:
        assert host.app is not None
        assert "NCRONTAB" in host.app.skipped["unparseable"]
        assert "unparseable" not in host.timers


async def test_the_admin_api_runs_a_timer_now_with_the_master_key_only(
    host: LocalHost, tmp_path: Path
) -> None:
    async with host, aiohttp.ClientSession(base_url=host.base_url) as http:
        assert await wait_for(lambda: runs(tmp_path / "records.jsonl", "yearly") == 1)
        async with http.post("/admin/functions/yearly") as refused:
            assert refused.status == 401
        headers = {"x-functions-key": MASTER_KEY}
        async with http.post("/admin/functions/nothing", headers=headers) as unknown:
            assert unknown.status == 404
        async with http.post("/admin/functions/yearly", json={}, headers=headers) as accepted:
            assert accepted.status == 202

        assert await wait_for(lambda: runs(tmp_path / "records.jsonl", "yearly") == 2)


async def test_run_timer_waits_for_the_run_and_reports_it(host: LocalHost) -> None:
    async with host:
        result = await host.run_timer("yearly")

        assert result.succeeded and host.status()["timers"]["yearly"]["runs"] >= 1


def test_ncrontab_has_six_fields_seconds_first() -> None:
    start = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)

    assert Schedule("0 7 * * * *").next_after(start) == datetime(2026, 12, 1, 0, 7, tzinfo=UTC)
    assert Schedule("00:30:00").next_after(start) == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    with pytest.raises(InvalidScheduleError):
        Schedule("7 * * * *")
