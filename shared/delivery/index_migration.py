"""Index rows from before the number rows, made like the new ones, once.

Time rows written before the index had number rows hold ``to`` and ``from_`` in clear, and an
erasure or a ``number=`` list cannot find their records. The retention timer rewrites every
day still indexed (the rows lose the numbers and gain their number rows), marks each day done
so a stopped pass resumes, and raises a flag when a whole pass is done: from then on, rows
are only ever written the new way and nothing is read again.
"""

from __future__ import annotations

from datetime import date, timedelta

from shared.delivery.retention import INDEXED_KINDS
from shared.delivery.services import Services
from shared.domain.records import utcnow
from shared.platform import logs

WORK = "numbers-moved"
DONE_FLAG = "index-numbers-moved"


async def move_numbers(services: Services, today: date | None = None) -> int:
    """Returns how many records' rows were rewritten (0 once the flag is up)."""
    store = await services.retention()
    if await store.is_flagged(DONE_FLAG):
        return 0
    today = today or utcnow().date()
    tomorrow = today + timedelta(days=1)
    moved = 0
    for kind in INDEXED_KINDS:
        day = await services.index.oldest_day(kind, tomorrow)
        if day is None:
            continue
        done = await store.done_days(WORK, kind, day, tomorrow)
        while day <= today:
            if day not in done:
                moved += await services.index.move_numbers_to_rows(kind, day)
                await store.mark_done(WORK, kind, day)
            day += timedelta(days=1)
    await store.flag(DONE_FLAG)
    logs.info("index_numbers_moved", records=moved)
    return moved
