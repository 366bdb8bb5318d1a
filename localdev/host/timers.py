"""Timer triggers, as the Functions host runs them: an NCRONTAB schedule (six fields, seconds
first, in UTC: ``WEBSITE_TIME_ZONE`` is not simulated) or a TimeSpan (``hh:mm:ss``), with
``%SETTING%`` resolved; ``runOnStartup``; and ``POST /admin/functions/<name>`` (master key)
to run one now, which is how tests and operators trigger a timer on demand.

The function receives a ``func.TimerRequest``; ``past_due`` is true when the host was busy
or asleep past the time it was due, as with the real host's schedule monitor.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter

from localdev.host.invoker import InvocationResult, Invoker

log = logging.getLogger(__name__)

_TIMESPAN = re.compile(r"([0-9]{1,2}):([0-9]{2}):([0-9]{2})\Z")
# A run that starts this late after its time is past due.
PAST_DUE_AFTER = timedelta(seconds=1)


class InvalidScheduleError(ValueError):
    """The schedule is neither a six-field NCRONTAB expression nor a TimeSpan."""


@dataclass(frozen=True)
class Schedule:
    expression: str

    def __post_init__(self) -> None:
        if _TIMESPAN.fullmatch(self.expression):
            return
        fields = self.expression.split()
        if len(fields) != 6 or not croniter.is_valid(self.expression, second_at_beginning=True):
            raise InvalidScheduleError(
                f"{self.expression!r} is not an NCRONTAB expression of six fields "
                "({second} {minute} {hour} {day} {month} {day-of-week}) nor hh:mm:ss"
            )

    def next_after(self, moment: datetime) -> datetime:
        span = _TIMESPAN.fullmatch(self.expression)
        if span:
            hours, minutes, seconds = (int(part) for part in span.groups())
            return moment + timedelta(hours=hours, minutes=minutes, seconds=seconds)
        following: datetime = croniter(self.expression, moment, second_at_beginning=True).get_next(
            datetime
        )
        return following


def timer_request(past_due: bool, last: datetime | None, following: datetime) -> Any:
    from azure.functions.timer import TimerRequest

    status = {
        "Last": (last or datetime.min.replace(tzinfo=UTC)).isoformat(),
        "Next": following.isoformat(),
        "LastUpdated": datetime.now(UTC).isoformat(),
    }
    return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})


class TimerRunner:
    """Runs one timer function on its schedule; never two runs of it at once (the real host
    holds a singleton lock per timer function)."""

    def __init__(self, spec: Any, schedule: Schedule, invoker: Invoker, run_on_startup: bool):
        self.spec = spec
        self.schedule = schedule
        self._invoker = invoker
        self._run_on_startup = run_on_startup
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.last_run: datetime | None = None
        self.next_run: datetime | None = None
        self.runs = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"timer {self.spec.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run_now(self, reason: str) -> InvocationResult:
        following = self.schedule.next_after(datetime.now(UTC))
        return await self._run(False, following, reason)

    async def _loop(self) -> None:
        now = datetime.now(UTC)
        if self._run_on_startup:
            await self._run(False, self.schedule.next_after(now), "Timer fired at start-up")
        while True:
            due = self.schedule.next_after(datetime.now(UTC))
            self.next_run = due
            await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0.0))
            late = datetime.now(UTC) - due > PAST_DUE_AFTER
            await self._run(late, self.schedule.next_after(due), "Timer fired")

    async def _run(self, past_due: bool, following: datetime, reason: str) -> InvocationResult:
        async with self._lock:
            request = timer_request(past_due, self.last_run, following)
            self.last_run = datetime.now(UTC)
            self.runs += 1
            return await self._invoker.invoke(self.spec, request, reason=reason)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule.expression,
            "runs": self.runs,
            "last": self.last_run.isoformat() if self.last_run else None,
            "next": self.next_run.isoformat() if self.next_run else None,
        }
