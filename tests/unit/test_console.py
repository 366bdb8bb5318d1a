"""The console's static files: served from their folder alone, with a strict CSP."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from shared.handlers import console


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "style":
            self.styles += 1
        self.inline_handlers += [
            name for name, _ in attrs if name.startswith("on") or name == "style"
        ]


def test_the_page_is_served_with_a_policy_that_forbids_inline_script() -> None:
    response = console.serve()
    policy = response.headers["Content-Security-Policy"]

    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


def test_the_page_has_no_inline_script_style_or_handlers() -> None:
    parser = _Scripts()
    parser.feed(console.serve().get_body().decode())

    assert parser.scripts and all(script.get("src") for script in parser.scripts)
    assert parser.inline_handlers == [] and parser.styles == 0


@pytest.mark.parametrize(
    ("name", "mimetype"), [("console.js", "text/javascript"), ("console.css", "text/css")]
)
def test_assets_are_served_with_their_type(name: str, mimetype: str) -> None:
    response = console.serve(name)

    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name", ["../console.py", "..%2Fconsole.py", "missing.js", "", "console.py"]
)
def test_anything_else_is_not_found(name: str) -> None:
    assert console.serve(name).status_code == 404


def test_the_script_never_writes_html() -> None:
    script = (console.ASSETS / "console.js").read_text()

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
