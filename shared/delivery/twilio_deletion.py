"""Deleting a record's resources at Twilio too: its messages (with their media), its calls and
their recordings, when the settings ask for it.

Twilio refuses to delete a message or call that is not final yet (20009). Such a deletion,
or one Twilio could not be asked about, is owed: a row in the retention table (its SID, no
number) that each run of the retention timer tries again until Twilio says it is gone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.delivery.services import Services
from shared.domain.records import LogRecord
from shared.platform import logs
from shared.storage.message_log import sids_in

RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_RESOURCE_BY_PREFIX = {"SM": "sms", "MM": "sms", "CA": "call", "RE": "recording"}
# Hourly runs for a week: past that, Twilio will not finish it, and the row says so.
MAX_ATTEMPTS = 24 * 7
RETRIES_PER_RUN = 500


@dataclass
class TwilioDeletions:
    deleted: int = 0
    owed: int = 0
    abandoned: int = 0

    def add(self, other: TwilioDeletions) -> None:
        self.deleted += other.deleted
        self.owed += other.owed
        self.abandoned += other.abandoned


def resources_of(
    record: LogRecord | None, entities: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """(resource, SID) of everything at Twilio a record's rows name."""
    sids = sids_in(entities)
    if record is not None and record.direction == "inbound":
        sids.add(record.id)
    if record is not None and record.recording_url:
        sids.update(RECORDING_SID.findall(record.recording_url))
    found = [(_RESOURCE_BY_PREFIX[sid[:2]], sid) for sid in sids if sid[:2] in _RESOURCE_BY_PREFIX]
    # Recordings first: a call's recordings are separate resources that outlive it.
    return sorted(found, key=lambda item: (item[0] != "recording", item[1]))


async def owe(services: Services, resources: list[tuple[str, str]]) -> TwilioDeletions:
    store = await services.retention()
    for resource, sid in resources:
        await store.owe_deletion(sid, resource)
    return TwilioDeletions(owed=len(resources))


async def delete_now(services: Services, resources: list[tuple[str, str]]) -> TwilioDeletions:
    """Deletes at Twilio at once; what Twilio cannot delete yet is owed."""
    from shared.twilio.sender import DeleteOutcome

    done = TwilioDeletions()
    for resource, sid in resources:
        outcome = await services.sender().delete(resource, sid)
        if outcome is DeleteOutcome.LATER:
            await (await services.retention()).owe_deletion(sid, resource)
            done.owed += 1
        else:
            done.deleted += 1
    return done


async def retry_owed(services: Services) -> TwilioDeletions:
    """One pass over the deletions owed: done ones go, the others count an attempt."""
    from shared.twilio.sender import DeleteOutcome

    store = await services.retention()
    done = TwilioDeletions()
    for owed in await store.owed_deletions(RETRIES_PER_RUN):
        outcome = await services.sender().delete(owed.resource, owed.sid)
        if outcome is not DeleteOutcome.LATER:
            await store.deletion_done(owed.sid)
            done.deleted += 1
        elif owed.attempts + 1 >= MAX_ATTEMPTS:
            await store.deletion_done(owed.sid)
            logs.error("twilio_deletion_abandoned", sid=owed.sid, attempts=owed.attempts + 1)
            done.abandoned += 1
        else:
            await store.deletion_tried(owed)
            done.owed += 1
    return done
