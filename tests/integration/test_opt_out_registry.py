"""The opt-out set each instance keeps, against Azurite: one read per refresh, not per sms."""

from __future__ import annotations

import pytest

from shared.storage.opt_outs import OptOutRegistry
from tests.integration.conftest import Gateway

pytestmark = pytest.mark.integration

NUMBER = "+15557650001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_stop_handled_here_applies_at_once(gateway: Gateway) -> None:
    registry = gateway.services.opt_outs
    assert not await registry.is_opted_out(NUMBER)

    await registry.apply_keyword(NUMBER, "STOP")
    stopped = await registry.is_opted_out(NUMBER)
    await registry.apply_keyword(NUMBER, "START")

    assert stopped and not await registry.is_opted_out(NUMBER)


async def test_a_stop_from_another_instance_is_seen_after_the_refresh(gateway: Gateway) -> None:
    clock = Clock()
    table = gateway.services.tables.get_table_client(gateway.services.settings.opt_out_table)
    key_of = gateway.services.index.number_key
    here = OptOutRegistry(table, key_of, refresh_seconds=30, clock=clock)
    elsewhere = OptOutRegistry(table, key_of)
    assert not await here.is_opted_out(NUMBER)

    await elsewhere.apply_keyword(NUMBER, "STOP")
    before_refresh = await here.is_opted_out(NUMBER)
    clock.now += 31

    assert not before_refresh
    assert await here.is_opted_out(NUMBER)
