"""Back-pressure: the adaptive limit on Twilio requests in flight."""

from __future__ import annotations

import asyncio

import pytest

from shared.delivery.pacing import DECREASE, AdaptiveLimit, paced
from shared.twilio.sender import TransientSendError


async def test_requests_beyond_the_limit_wait_for_a_slot() -> None:
    limit = AdaptiveLimit(2)
    most = 0

    async def request() -> None:
        nonlocal most
        async with limit.slot():
            most = max(most, limit.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(request() for _ in range(6)))

    assert most == 2 and limit.in_flight == 0


async def test_a_burst_of_refusals_cuts_the_limit_once() -> None:
    limit = AdaptiveLimit(20)
    started = []
    for _ in range(5):
        async with limit.slot() as at:
            started.append(at)

    for at in started:
        limit.refused(at)

    assert limit.limit == pytest.approx(20 * DECREASE)


async def test_a_refusal_after_the_cut_cuts_again() -> None:
    limit = AdaptiveLimit(20)
    async with limit.slot() as first:
        pass
    limit.refused(first)
    async with limit.slot() as second:
        pass

    limit.refused(second)

    assert limit.limit == pytest.approx(20 * DECREASE * DECREASE)


def test_requests_taken_raise_the_limit_up_to_the_ceiling() -> None:
    limit = AdaptiveLimit(8)
    limit.limit = 4.0

    for _ in range(4):
        limit.taken()
    assert 4.9 < limit.limit < 5.1
    for _ in range(100):
        limit.taken()
    assert limit.limit == 8.0


def test_the_limit_never_falls_below_one() -> None:
    limit = AdaptiveLimit(4)
    for n in range(20):
        limit.refused(float(n) * 1e9)

    assert limit.limit == 1.0


async def test_a_paced_refusal_with_pushback_lowers_the_limit() -> None:
    limit = AdaptiveLimit(10)

    async def refused() -> None:
        raise TransientSendError("429", ambiguous=False, pushback=True)

    with pytest.raises(TransientSendError):
        await paced(limit, refused)

    assert limit.limit < 10


async def test_a_paced_failure_without_pushback_leaves_the_limit() -> None:
    limit = AdaptiveLimit(10)

    async def dropped() -> None:
        raise TransientSendError("connection dropped", ambiguous=True)

    with pytest.raises(TransientSendError):
        await paced(limit, dropped)

    assert limit.limit == 10
