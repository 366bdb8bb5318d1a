"""The keyed hash of a number: stable for one key, unrelated across keys, no number inside."""

from __future__ import annotations

from shared.domain.number_keys import KEY_HEX_CHARS, number_key

NUMBER = "+15551234567"


def test_the_same_number_and_key_give_the_same_key() -> None:
    assert number_key(b"k" * 32, NUMBER) == number_key(b"k" * 32, NUMBER)


def test_another_secret_gives_another_key() -> None:
    assert number_key(b"a" * 32, NUMBER) != number_key(b"b" * 32, NUMBER)


def test_the_key_is_hex_of_fixed_length_without_the_number() -> None:
    key = number_key(b"k" * 32, NUMBER)

    assert len(key) == KEY_HEX_CHARS and set(key) <= set("0123456789abcdef")
    assert "5551234567" not in key
