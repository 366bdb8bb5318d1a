"""The delivery promise under faults: 20% of Twilio creates fail, the host is killed; and
under a Twilio outage or its concurrency limit, where not one message may end ``failed``;
and events out, every one of which reaches both destinations through failures and kills."""

from __future__ import annotations

from pathlib import Path

import pytest

from localdev.azurite import Azurite
from tests.support.soak import Soak, SoakConfig

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "config",
    [
        pytest.param(SoakConfig(messages=300, public_callbacks=True), id="with-callbacks"),
        pytest.param(SoakConfig(messages=150, public_callbacks=False), id="status-checks-only"),
    ],
)
async def test_nothing_is_lost_sent_twice_or_left_open(
    config: SoakConfig, azurite: Azurite, tmp_path: Path
) -> None:
    report = await Soak(config, azurite.connection_string, tmp_path).run()

    print("\n".join(report.lines()))
    assert report.accepted == config.messages
    assert report.kills == config.kills
    assert sum(report.faults.values()) > 0
    assert (report.lost, report.sent_twice) == ([], [])
    assert (report.stuck, report.failed_but_sent) == ([], [])


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "config",
    [
        pytest.param(
            SoakConfig(
                messages=100,
                fault_rate=0.0,
                kills=2,
                feed_rate=4.0,
                outage_status=503,
                outage_after=5.0,
                outage_seconds=15.0,
            ),
            id="outage-503",
        ),
        pytest.param(
            SoakConfig(
                messages=240,
                fault_rate=0.0,
                kills=1,
                concurrency_limit=4,
                twilio_latency=0.2,
                public_callbacks=False,
            ),
            id="concurrency-limit",
        ),
    ],
)
async def test_an_outage_or_a_concurrency_limit_fails_nothing(
    config: SoakConfig, azurite: Azurite, tmp_path: Path
) -> None:
    report = await Soak(config, azurite.connection_string, tmp_path).run()

    print("\n".join(report.lines()))
    assert report.accepted == config.messages
    assert sum(report.faults.values()) > 0
    assert (report.lost, report.sent_twice, report.stuck) == ([], [], [])
    assert report.failed == []


@pytest.mark.timeout(600)
async def test_every_status_change_reaches_both_destinations_none_lost(
    azurite: Azurite, tmp_path: Path
) -> None:
    config = SoakConfig(
        messages=80,
        kills=2,
        feed_rate=6.0,
        events=True,
        receiver_outage_seconds=6.0,
        receiver_outage_after=3.0,
        event_retry_max_seconds=3.0,
    )
    report = await Soak(config, azurite.connection_string, tmp_path).run()

    print("\n".join(report.lines()))
    events = report.events
    assert events is not None
    assert report.accepted == config.messages and report.kills == config.kills
    assert events.expected >= 4 * config.messages
    assert events.lost_count == 0, events.lost
    assert events.delivered == {"webhook": events.expected, "event_grid": events.expected}
    assert sum(events.failed_answers.values()) > 0
    assert events.out_of_order == []
