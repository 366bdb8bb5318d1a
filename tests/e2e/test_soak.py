"""The delivery promise under faults: 20% of Twilio creates fail, the host is killed; and
under a Twilio outage or its concurrency limit, where not one message may end ``failed``."""

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
