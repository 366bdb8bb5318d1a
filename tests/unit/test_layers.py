"""The layers of ``shared``: every import points down them, read from the source with ``ast``.

handlers → delivery → adapters (storage, twilio, publish) → domain → platform. A module may
import its own package or a lower layer, never a higher one nor a sibling adapter; the domain
imports nothing but the standard library and the platform; no package's ``__init__`` imports
anything; no modules import each other in a circle. There is no list of exceptions.
"""

from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fresh_python import ROOT, run_python

RANKS = {
    "handlers": 4,
    "delivery": 3,
    "storage": 2,
    "twilio": 2,
    "publish": 2,
    "domain": 1,
    "platform": 0,
}
ORDER = "handlers → delivery → storage, twilio, publish → domain → platform"
OUTSIDE_THE_APP = ("function_app", "reminder_twiml", "localdev", "tests", "bench")


@dataclass(frozen=True)
class Arrow:
    source: Path
    line: int
    target: str


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def arrows(path: Path, root: Path) -> list[Arrow]:
    """Every import in the file, wherever it stands (inside functions and TYPE_CHECKING too)."""
    package = module_name(path, root)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found: list[Arrow] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Arrow(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base == "shared" or (layer_of(base) in RANKS and base.count(".") == 1):
                found += [Arrow(path, node.lineno, f"{base}.{alias.name}") for alias in node.names]
            elif base != "__future__":
                found.append(Arrow(path, node.lineno, base))
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "shared" else None


def violations(root: Path) -> list[str]:
    """One line per import against the rules: ``file:line: rule``."""
    problems: list[str] = []
    for path in sorted((root / "shared").rglob("*.py")):
        source = module_name(path, root)
        where = path.relative_to(root)
        own = layer_of(source)
        if path.name == "__init__.py":
            problems += [
                f"{where}:{arrow.line}: a package's __init__ imports nothing ({arrow.target})"
                for arrow in arrows(path, root)
            ]
            continue
        if own not in RANKS:
            problems.append(f"{where}:1: every module lives in a layer: {', '.join(RANKS)}")
            continue
        for arrow in arrows(path, root):
            top = arrow.target.split(".")[0]
            target = layer_of(arrow.target)
            at = f"{where}:{arrow.line}: {own} may not import {arrow.target}"
            if top in OUTSIDE_THE_APP:
                problems.append(f"{at}: shared never imports what hosts or tests it")
            elif top == "shared" and target not in RANKS:
                problems.append(f"{at}: import a module of a layer, not the package's top")
            elif target is not None and target != own and RANKS[target] >= RANKS[own]:
                problems.append(f"{at}: imports point one way, {ORDER}")
            elif own == "domain" and top != "shared" and top not in sys.stdlib_module_names:
                problems.append(f"{at}: the domain imports the standard library and platform only")
    return problems + cycles(root)


def cycles(root: Path) -> list[str]:
    """Modules of ``shared`` that import each other, directly or through others."""
    graph: dict[str, set[str]] = {}
    for path in (root / "shared").rglob("*.py"):
        graph[module_name(path, root)] = {
            arrow.target for arrow in arrows(path, root) if arrow.target.startswith("shared.")
        }
    found: list[str] = []
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            circle = [*trail[trail.index(module) :], module]
            found.append(f"{module.replace('.', '/')}.py: import circle {' → '.join(circle)}")
            return
        if module in done or module not in graph:
            return
        for target in sorted(graph[module]):
            visit(target, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def test_every_import_in_shared_points_down_the_layers() -> None:
    assert violations(ROOT) == []


def test_each_layer_is_a_package_that_says_what_it_holds() -> None:
    packages = {
        path.name for path in (ROOT / "shared").iterdir() if (path / "__init__.py").exists()
    }
    assert packages == set(RANKS)
    for name in RANKS:
        docstring = ast.get_docstring(
            ast.parse((ROOT / "shared" / name / "__init__.py").read_text())
        )
        assert docstring is not None and "import" in docstring.lower(), name


def test_the_domain_loads_no_sdk_even_through_the_platform() -> None:
    modules = sorted(
        p.stem for p in (ROOT / "shared" / "domain").glob("*.py") if p.stem != "__init__"
    )
    imports = "; ".join(f"import shared.domain.{m}" for m in modules)
    loaded = json.loads(
        run_python(f"import json, sys; {imports}; print(json.dumps([*sys.modules]))").stdout
    )
    assert modules and not [name for name in loaded if name.split(".")[0] in ("azure", "twilio")]


def plant(root: Path, files: dict[str, str]) -> Path:
    for name, text in {"shared/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for layer in RANKS:
        (root / "shared" / layer).mkdir(exist_ok=True)
        (root / "shared" / layer / "__init__.py").touch()
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"shared/domain/rules.py": "\n\nfrom shared.storage.log import Record\n"},
            "shared/domain/rules.py:3: domain may not import shared.storage.log: imports point",
        ),
        (
            {"shared/storage/log.py": "def f():\n    from shared.twilio import sender\n"},
            "shared/storage/log.py:2: storage may not import shared.twilio.sender: imports point",
        ),
        (
            {"shared/publish/webhook.py": "from shared.storage import message_log\n"},
            "shared/publish/webhook.py:1: publish may not import shared.storage.message_log",
        ),
        (
            {"shared/domain/rules.py": "import azure.data.tables\n"},
            "shared/domain/rules.py:1: domain may not import azure.data.tables: the domain",
        ),
        (
            {"shared/platform/codec.py": "from ..handlers import worker\n"},
            "shared/platform/codec.py:1: platform may not import shared.handlers.worker",
        ),
        (
            {"shared/handlers/api.py": "import function_app\n"},
            "shared/handlers/api.py:1: handlers may not import function_app: shared never",
        ),
        (
            {"shared/loose.py": "import json\n"},
            "shared/loose.py:1: every module lives in a layer",
        ),
        (
            {"shared/twilio/__init__.py": "from shared.twilio.sender import Sender\n"},
            "shared/twilio/__init__.py:1: a package's __init__ imports nothing",
        ),
        (
            {
                "shared/platform/a.py": "from shared.platform import b\n",
                "shared/platform/b.py": "import shared.platform.a\n",
            },
            "shared/platform/a.py: import circle shared.platform.a → shared.platform.b → shared.",
        ),
    ],
)
def test_a_planted_import_against_the_rules_is_named_with_its_file_and_line(
    tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    found = violations(plant(tmp_path, files))
    assert [line for line in found if line.startswith(expected)], found


def test_imports_down_the_layers_and_inside_a_package_pass(tmp_path: Path) -> None:
    root = plant(
        tmp_path,
        {
            "shared/handlers/api.py": "from shared.delivery import enqueue\nimport azure\n",
            "shared/delivery/enqueue.py": "from shared.storage.log import Log\nimport json\n",
            "shared/storage/log.py": "from shared.storage import rows\nfrom shared.domain import x",
            "shared/storage/rows.py": "from shared.platform import logs\n",
            "shared/domain/x.py": "import re\nfrom shared.platform.logs import info\n",
            "shared/platform/logs.py": "import logging\n",
        },
    )
    assert violations(root) == []
