"""The retention timer: purge what is past ``RETENTION_DAYS``; once, rewrite the index rows
from before the number rows; drop the content of final records past ``BODY_RETENTION_DAYS``;
move opt-outs still in clear; retry the Twilio deletions not possible yet. It logs counts,
never numbers."""

from __future__ import annotations

import azure.functions as func

from shared.delivery import twilio_deletion
from shared.delivery.index_migration import move_numbers
from shared.delivery.redaction import redact
from shared.delivery.retention import purge
from shared.delivery.services import get_services
from shared.platform import logs


async def run(timer: func.TimerRequest) -> None:
    services = await get_services()
    if timer.past_due:
        logs.info("retention_timer_past_due")
    await purge(services)
    await move_numbers(services)
    await redact(services)
    moved = await services.opt_outs.move_clear_rows()
    if moved:
        logs.info("opt_outs_moved_to_hashes", rows=moved)
    if services.settings.twilio_delete_on_erasure or services.settings.twilio_delete_on_purge:
        done = await twilio_deletion.retry_owed(services)
        logs.info(
            "twilio_deletions_retried",
            deleted=done.deleted,
            owed=done.owed,
            abandoned=done.abandoned,
        )
