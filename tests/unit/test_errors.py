"""Values quoted in refusals: masked before they are escaped, so no digit hides in an escape."""

from __future__ import annotations

import pytest

from shared.platform.errors import SHOWN_CHARS, shown

ARABIC_INDIC = "+1" + "".join(chr(0x0660 + int(digit)) for digit in "5551234567")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+1555123456\uff17", "'+1555***4567'"),
        (ARABIC_INDIC, "'+1555***4567'"),
        ("+15551234567\n", "'+1555***4567\\n'"),
    ],
)
def test_numbers_in_any_digits_are_masked_before_escaping(value: str, expected: str) -> None:
    assert shown(value) == expected


def test_lone_surrogate_is_escaped_and_long_values_cut_short() -> None:
    assert shown("a\ud800") == "'a\\ud800'"
    assert len(shown("x" * 100)) == SHOWN_CHARS


def test_values_that_are_not_text_are_named_by_type() -> None:
    assert shown(5) == "int"
