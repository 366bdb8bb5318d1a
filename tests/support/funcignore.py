"""What ``func azure functionapp publish`` puts in the package, as Core Tools decides it.

Core Tools does not match ``.funcignore`` as git does: its ``GitIgnoreParser`` (a port of the
codemix gitignore-parser) anchors every pattern at the start of the relative path and ends it
at a word boundary, and ``FileSystemHelpers.GetLocalFiles`` skips ``.git`` and ``.vscode``
directories and four file names anywhere. This is a line-for-line port of both.
"""

from __future__ import annotations

import re
from pathlib import Path

SKIPPED_DIRECTORIES = {".git", ".vscode"}
SKIPPED_FILES = {".funcignore", ".gitignore", "local.settings.json", "project.lock.json"}


def _regex_pattern(pattern: str) -> str:
    escaped = re.sub(r"[\-\[\]\/\{\}\(\)\+\?\.\\\^\$\|]", lambda m: "\\" + m.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", "([^\\/]+)")


class FuncIgnore:
    def __init__(self, content: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in content.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            target = positive
            if line.startswith("!"):
                target, line = negative, line[1:]
            target.append(line.removeprefix("/"))
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str] | None:
        if not patterns:
            return None
        joined = ")|(".join(_regex_pattern(p) for p in sorted(patterns))
        return re.compile(f"^(({joined}))\\b", re.ASCII)

    def accepts(self, relative: str) -> bool:
        if self._negative is not None and self._negative.search(relative):
            return True
        return self._positive is None or not self._positive.search(relative)


def package_files(root: Path) -> set[str]:
    """The relative paths ``func`` would zip from ``root``."""
    ignore_file = root / ".funcignore"
    parser = FuncIgnore(ignore_file.read_text()) if ignore_file.exists() else FuncIgnore("")
    found: set[str] = set()

    def visit(directory: Path) -> None:
        for entry in sorted(directory.iterdir()):
            if entry.is_dir():
                if entry.name.lower() not in SKIPPED_DIRECTORIES:
                    visit(entry)
            elif entry.name.lower() not in SKIPPED_FILES:
                relative = entry.relative_to(root).as_posix()
                if parser.accepts(relative):
                    found.add(relative)

    visit(root)
    return found
