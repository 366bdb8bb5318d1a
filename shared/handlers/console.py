"""``GET /api/console``: the operator console, static files shipped in ``shared/handlers/console``.

The page holds no data and no secret, so it is served without a key; everything it shows
comes from the gateway's own APIs, called by its script with the function key in the
``x-functions-key`` header (entered once, kept in the tab's ``sessionStorage``, never in a
URL). The Content-Security-Policy allows scripts, styles and requests from this origin only
and no inline script, so a message body that looks like HTML can never run.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import azure.functions as func

ASSETS = Path(__file__).with_name("console")
PAGE = "index.html"
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@cache
def _assets() -> dict[str, Path]:
    """The files that may be served, by name: nothing outside the folder, ever."""
    return {path.name: path for path in ASSETS.iterdir() if path.suffix in _TYPES}


def serve(name: str = PAGE) -> func.HttpResponse:
    path = _assets().get(name)
    if path is None:
        return func.HttpResponse(
            "not found", status_code=404, mimetype="text/plain", headers=SECURITY_HEADERS
        )
    return func.HttpResponse(
        path.read_bytes(),
        status_code=200,
        mimetype=_TYPES[path.suffix],
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )
