"""Running code in a fresh interpreter at the project root: what a cold start imports and logs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c code``; raises if it fails, so a test reads only what a success printed."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
