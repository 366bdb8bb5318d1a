"""Status check messages: one record (``id``) or several (``ids``), each rule named."""

from __future__ import annotations

import pytest

from shared.delivery.status_checks import CHECK_KIND, MAX_IDS_PER_MESSAGE, StatusCheck, parse_checks
from shared.platform.errors import InvalidRequestError


def test_a_check_of_one_record_names_it_by_id() -> None:
    document = {"kind": CHECK_KIND, "id": "rec-1", "attempt": 3}

    assert parse_checks(document) == [StatusCheck("rec-1", 3)]


def test_a_check_of_several_records_checks_each_at_the_same_attempt() -> None:
    document = {"kind": CHECK_KIND, "ids": ["a", "b"], "attempt": 2}

    assert parse_checks(document) == [StatusCheck("a", 2), StatusCheck("b", 2)]


@pytest.mark.parametrize(
    "ids",
    [[], "a", ["a", 7], ["bad id"], ["x"] * (MAX_IDS_PER_MESSAGE + 1)],
)
def test_ids_that_are_not_a_short_list_of_record_ids_are_refused(ids: object) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_checks({"kind": CHECK_KIND, "ids": ids})

    assert (info.value.code, info.value.field) == ("invalid_ids", "ids")


def test_a_check_with_both_id_and_ids_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse_checks({"kind": CHECK_KIND, "id": "a", "ids": ["b"]})

    assert info.value.code == "invalid_ids"
