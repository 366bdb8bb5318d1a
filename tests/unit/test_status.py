"""Status ranks: the order DESIGN.md fixes, with the gateway's and Twilio's names apart."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from shared.domain.status import (
    CLAIM_STATUS,
    TERMINAL_RANK,
    Kind,
    UnknownStatusError,
    gateway_rank,
    is_terminal,
    twilio_rank,
)

GATEWAY, TWILIO = "gateway", "twilio"


def rank(kind: Kind, origin: str, status: str) -> int:
    return gateway_rank(kind, status) if origin == GATEWAY else twilio_rank(kind, status)


SMS_ORDER = [
    (GATEWAY, "accepted"),
    (GATEWAY, "sending"),
    (TWILIO, "queued"),
    (TWILIO, "sending"),
    (TWILIO, "sent"),
    (TWILIO, "delivered"),
]
CALL_ORDER = [
    (GATEWAY, "accepted"),
    (GATEWAY, "dialing"),
    (TWILIO, "queued"),
    (TWILIO, "initiated"),
    (TWILIO, "ringing"),
    (TWILIO, "in-progress"),
    (TWILIO, "completed"),
]


def consecutive(kind: Kind, order: list[tuple[str, str]]) -> list[object]:
    return [
        pytest.param(kind, low, high, id=f"{kind}:{low[1]}({low[0]})<{high[1]}({high[0]})")
        for low, high in itertools.pairwise(order)
    ]


@pytest.mark.parametrize(
    ("kind", "lower", "higher"), consecutive("sms", SMS_ORDER) + consecutive("call", CALL_ORDER)
)
def test_status_ranks_below_the_next_one(
    kind: Kind, lower: tuple[str, str], higher: tuple[str, str]
) -> None:
    assert rank(kind, *lower) < rank(kind, *higher)


@pytest.mark.parametrize(
    ("kind", "first", "second"),
    [
        ("sms", "queued", "accepted"),
        ("sms", "delivered", "undelivered"),
        ("sms", "delivered", "failed"),
        ("call", "completed", "busy"),
        ("call", "completed", "no-answer"),
        ("call", "completed", "failed"),
        ("call", "completed", "canceled"),
    ],
)
def test_twilio_statuses_of_the_same_stage_share_a_rank(
    kind: Kind, first: str, second: str
) -> None:
    assert twilio_rank(kind, first) == twilio_rank(kind, second)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("sms", "delivered"),
        ("sms", "undelivered"),
        ("sms", "failed"),
        ("sms", "read"),
        ("call", "completed"),
        ("call", "busy"),
        ("call", "no-answer"),
        ("call", "failed"),
        ("call", "canceled"),
    ],
)
def test_final_twilio_status_is_terminal(kind: Kind, status: str) -> None:
    assert is_terminal(twilio_rank(kind, status))


@pytest.mark.parametrize(("kind", "status"), [("sms", "sent"), ("call", "in-progress")])
def test_last_twilio_status_before_the_end_is_not_terminal(kind: Kind, status: str) -> None:
    assert not is_terminal(twilio_rank(kind, status))


@pytest.mark.parametrize("kind", ["sms", "call"])
@pytest.mark.parametrize("status", ["failed", "rejected"])
def test_gateway_failed_and_rejected_are_terminal(kind: Kind, status: str) -> None:
    assert gateway_rank(kind, status) == TERMINAL_RANK


@pytest.mark.parametrize("status", ["accepted", "sending"])
def test_gateway_and_twilio_sms_names_rank_differently(status: str) -> None:
    assert gateway_rank("sms", status) < twilio_rank("sms", status)


@pytest.mark.parametrize(
    ("kind", "status"), [("sms", "sending"), ("call", "dialing")], ids=["sms", "call"]
)
def test_claim_status_is_the_gateway_rank_one(kind: Kind, status: str) -> None:
    assert CLAIM_STATUS[kind] == status
    assert gateway_rank(kind, status) == 1


@pytest.mark.parametrize(
    ("ranker", "kind", "status"),
    [
        pytest.param(twilio_rank, "sms", "dialing", id="twilio_sms_dialing"),
        pytest.param(twilio_rank, "call", "delivered", id="twilio_call_delivered"),
        pytest.param(twilio_rank, "sms", "bogus", id="twilio_sms_bogus"),
        pytest.param(gateway_rank, "call", "sending", id="gateway_call_sending"),
        pytest.param(gateway_rank, "sms", "delivered", id="gateway_sms_delivered"),
    ],
)
def test_unknown_status_raises(ranker: Callable[[Kind, str], int], kind: Kind, status: str) -> None:
    with pytest.raises(UnknownStatusError):
        ranker(kind, status)


@pytest.mark.parametrize("final", ["delivered", "undelivered", "failed", "canceled"])
def test_read_is_the_one_final_status_that_follows_another(final: str) -> None:
    assert twilio_rank("sms", "read") > twilio_rank("sms", final)
    assert twilio_rank("sms", "read") > gateway_rank("sms", "unknown")
