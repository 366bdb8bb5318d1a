"""A copy of the app whose queue settings retry within a second, for the whole-stack tests.

Nothing else differs from what ``make dev`` and ``func azure functionapp publish`` run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from localdev.azurite import PROJECT_ROOT

APP_MODULES = ("function_app.py", "reminder_twiml.py")


def fast_app(target: Path, max_dequeue_count: int) -> Path:
    for module in APP_MODULES:
        shutil.copy(PROJECT_ROOT / module, target / module)
    shutil.copytree(
        PROJECT_ROOT / "shared", target / "shared", ignore=shutil.ignore_patterns("__pycache__")
    )
    host = json.loads((PROJECT_ROOT / "host.json").read_text())
    host["extensions"]["queues"].update(
        maxPollingInterval="00:00:01",
        visibilityTimeout="00:00:01",
        maxDequeueCount=max_dequeue_count,
    )
    (target / "host.json").write_text(json.dumps(host, indent=2))
    return target
