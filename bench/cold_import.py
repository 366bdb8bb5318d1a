"""What a cold start pays to import the app, against the app plus Twilio's REST client.

Webhooks never need the REST client (its Messages and Calls resources), so ``function_app``
does not import it; the worker loads it on its first send. The ratio shows what a webhook's
cold start saves. Each figure is the median of fresh interpreters.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7


def median_seconds(code: str, runs: int = RUNS, cwd: Path = ROOT) -> float:
    """Wall time of a fresh interpreter running ``code`` in ``cwd``, median of ``runs``."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    baseline = median_seconds(
        "import function_app; from twilio.rest import Client; c = Client('AC', 't'); "
        "c.messages; c.calls"
    )
    app_only = median_seconds("import function_app")
    print(f"cold import, median of {RUNS} fresh interpreters")
    print(f"  function_app + REST client (baseline): {baseline * 1000:7.0f} ms")
    print(f"  function_app as deployed:              {app_only * 1000:7.0f} ms")
    print(f"  ratio:                                 {app_only / baseline:7.2f}")


if __name__ == "__main__":
    main()
