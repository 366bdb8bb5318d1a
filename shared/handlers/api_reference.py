"""The send API's OpenAPI 3.1 document, shipped with the app and served as it is.

It is the contract clients generate code from, and the schema-driven fuzz test checks every
answer of the running API against it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import azure.functions as func

from shared.platform.http import JSON

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _document() -> bytes:
    return DOCUMENT.read_bytes()


def openapi_document() -> func.HttpResponse:
    """``GET /api/openapi.json``."""
    return func.HttpResponse(_document(), status_code=200, mimetype=JSON, charset="utf-8")
