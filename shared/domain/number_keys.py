"""The keyed hash that stands for a phone number where the gateway must find it again later.

Erasing a number, honouring its STOP and listing its records must find rows by number, yet
those rows must not hold the number itself. An HMAC with a secret key gives the same key for
the same number, and without the secret nobody can test a guessed number against it (a plain
hash of a phone number is reversed by trying the few billion possible numbers).
"""

from __future__ import annotations

import hashlib
import hmac

# 128 bits: no two numbers meet by chance, and the row keys stay short.
KEY_HEX_CHARS = 32


def number_key(secret: bytes, number: str) -> str:
    return hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()[:KEY_HEX_CHARS]
