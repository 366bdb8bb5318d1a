"""One setting read as a value, the same way by every settings group."""

from __future__ import annotations

import pytest

from shared.platform.errors import InvalidSettingError
from shared.platform.setting_values import flag, positive_number, text


def test_a_blank_setting_is_an_unset_one() -> None:
    assert text({"A": "   "}, "A") is None
    assert text({"A": " x "}, "A") == "x"


@pytest.mark.parametrize(("raw", "value"), [("TRUE", True), ("on", True), ("0", False)])
def test_a_flag_takes_the_usual_words(raw: str, value: bool) -> None:
    assert flag({"A": raw}, "A", not value) is value


def test_a_flag_that_is_no_word_names_the_setting() -> None:
    with pytest.raises(InvalidSettingError, match=r"A.*expected true or false"):
        flag({"A": "maybe"}, "A", False)


@pytest.mark.parametrize("raw", ["0", "-1", "inf", "nan", "ten"])
def test_a_positive_number_refuses_what_no_wait_or_count_can_be(raw: str) -> None:
    with pytest.raises(InvalidSettingError, match="A"):
        positive_number({"A": raw}, "A", 1.0)


def test_an_unset_number_takes_its_default() -> None:
    assert positive_number({}, "A", 2.5) == 2.5
