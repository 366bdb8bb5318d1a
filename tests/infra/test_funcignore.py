"""The deployment package holds the app and nothing else: no local data, no tooling.

The file list is built as ``func azure functionapp publish`` builds it (Core Tools' own
matching, ported in tests.support.funcignore) and, since azd and other tools read
``.funcignore`` as a gitignore, with git's matching too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pathspec
import pytest

from tests.support.funcignore import FuncIgnore, package_files

ROOT = Path(__file__).resolve().parents[2]
# What a developer's checkout holds besides the project's files after make dev / make test.
LOCAL_ARTIFACTS = [
    ".localdev/azurite/__azurite_db_queue__.json",
    ".localdev/azurite/__queuestorage__/0f3a",
    ".localdev/azurite/debug.log",
    ".localdev/.host.pid",
    "__azurite_db_blob__.json",
    "__azurite_db_queue_extent__.json",
    "__blobstorage__/1b2c",
    "__queuestorage__/3d4e",
    ".venv/bin/python",
    ".venv-py313/lib/python3.13/site-packages/x.py",
    "node_modules/azurite/package.json",
    "__pycache__/function_app.cpython-311.pyc",
    "shared/__pycache__/settings.cpython-313.pyc",
    ".pytest_cache/v/cache/nodeids",
    ".mypy_cache/3.11/shared.json",
    ".ruff_cache/0.17.6/abc",
    "local.settings.json",
    ".azure/dev/.env",
    ".azure/config.json",
    ".vscode/settings.json",
    ".git/HEAD",
]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's files (tracked or not yet committed) plus a developer's local artifacts,
    as empty files in a scratch directory."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    root = tmp_path_factory.mktemp("checkout")
    for relative in [*listed, *LOCAL_ARTIFACTS]:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    (root / ".funcignore").write_text((ROOT / ".funcignore").read_text())
    return root


def app_files(root: Path) -> set[str]:
    """The app's Python modules at the top, host.json, requirements.txt and all of shared/."""
    modules = {path.name for path in root.glob("*.py")}
    shared = {
        path.relative_to(root).as_posix()
        for path in (root / "shared").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    return {"host.json", "requirements.txt", *modules, *shared}


def test_func_packages_only_the_app(checkout: Path) -> None:
    assert package_files(checkout) == app_files(checkout)


def test_gitignore_style_tools_package_only_the_app(checkout: Path) -> None:
    spec = pathspec.GitIgnoreSpec.from_lines((checkout / ".funcignore").read_text().splitlines())
    every_file = {
        path.relative_to(checkout).as_posix() for path in checkout.rglob("*") if path.is_file()
    }

    assert {path for path in every_file if not spec.match_file(path)} == app_files(checkout)


def test_func_matches_a_bare_name_only_at_the_top() -> None:
    parser = FuncIgnore("__pycache__\n")

    assert not parser.accepts("__pycache__/a.pyc")
    assert parser.accepts("shared/__pycache__/a.pyc")


def test_func_misses_dot_files_under_a_pattern_with_a_trailing_slash() -> None:
    parser = FuncIgnore(".localdev/\n")

    assert not parser.accepts(".localdev/azurite/db.json")
    assert parser.accepts(".localdev/.host.pid")


def test_the_console_page_and_its_assets_are_deployed(checkout: Path) -> None:
    packaged = package_files(checkout)

    assert {
        "shared/handlers/console/index.html",
        "shared/handlers/console/console.js",
        "shared/handlers/console/console.css",
    } <= packaged
    assert not {path for path in packaged if path.startswith(("docs/", "node_modules/"))}
