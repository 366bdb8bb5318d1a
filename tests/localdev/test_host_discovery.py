"""Indexing an arbitrary v2 app: what runs, what is skipped, and why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from localdev.host.discovery import (
    AppLoadError,
    HttpTrigger,
    QueueTrigger,
    discover,
)

HEADER = """
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
"""


def _app(tmp_path: Path, body: str) -> Path:
    (tmp_path / "function_app.py").write_text(HEADER + textwrap.dedent(body))
    return tmp_path


def test_http_route_defaults_to_the_function_name(tmp_path: Path) -> None:
    app = discover(
        _app(
            tmp_path,
            """
            @app.route()
            def hello(req): ...
            """,
        )
    )
    assert app.functions[0].trigger == HttpTrigger(
        route="hello", methods=None, auth_level="anonymous"
    )


def test_app_level_auth_applies_when_the_route_has_none(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n"
        "@app.route(route='r', methods=['get'])\n"
        "def f(req): ...\n"
    )
    trigger = discover(tmp_path).functions[0].trigger
    assert trigger == HttpTrigger(route="r", methods=frozenset({"GET"}), auth_level="function")


def test_queue_name_setting_is_resolved_and_lower_cased(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCOVERY_QUEUE", "Work-Items")
    app = discover(
        _app(
            tmp_path,
            """
            @app.queue_trigger(arg_name="msg", queue_name="%DISCOVERY_QUEUE%", connection="")
            def work(msg: str) -> None: ...
            """,
        )
    )
    assert app.functions[0].trigger == QueueTrigger(
        queue_name="work-items", connection="AzureWebJobsStorage", arg_kind="str"
    )


def test_unresolved_queue_setting_skips_only_that_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISCOVERY_MISSING", raising=False)
    app = discover(
        _app(
            tmp_path,
            """
            @app.queue_trigger(arg_name="msg", queue_name="%DISCOVERY_MISSING%", connection="C")
            def work(msg) -> None: ...

            @app.route()
            def still_here(req): ...
            """,
        )
    )
    assert [f.name for f in app.functions] == ["still_here"]
    assert "DISCOVERY_MISSING" in app.skipped["work"]


def test_unsupported_trigger_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = discover(
        _app(
            tmp_path,
            """
            @app.blob_trigger(arg_name="blob", path="c/{name}", connection="AzureWebJobsStorage")
            def tick(blob) -> None: ...
            """,
        )
    )
    assert app.functions == []
    assert "blobTrigger" in app.skipped["tick"]
    assert any("tick" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_unsupported_binding_skips_the_function(tmp_path: Path) -> None:
    app = discover(
        _app(
            tmp_path,
            """
            @app.route()
            @app.blob_input(arg_name="blob", path="c/b.txt", connection="AzureWebJobsStorage")
            def reads_blob(req, blob): ...
            """,
        )
    )
    assert "blob" in app.skipped["reads_blob"]


def test_context_parameter_is_detected(tmp_path: Path) -> None:
    app = discover(
        _app(
            tmp_path,
            """
            @app.route()
            async def with_context(req, context): ...
            """,
        )
    )
    assert app.functions[0].wants_context
    assert app.functions[0].is_async


def test_app_without_function_app_is_refused(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("x = 1\n")
    with pytest.raises(AppLoadError):
        discover(tmp_path)


def test_app_that_fails_to_import_is_refused(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text("raise ImportError('missing dependency')\n")
    with pytest.raises(AppLoadError, match="missing dependency"):
        discover(tmp_path)


def test_missing_script_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError):
        discover(tmp_path)
