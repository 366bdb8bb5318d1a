"""``make soak``: the delivery promise at scale, with and without ``PUBLIC_BASE_URL``.

Thousands of messages through the whole local stack while the fault proxy fails 20% of
Twilio creates and the host is SIGKILLed and restarted; prints what was accepted, lost, sent
twice, left open and failed although sent, by what the simulator received.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from localdev.azurite import PROJECT_ROOT, Azurite
from tests.support.soak import Soak, SoakConfig

LOG_ROOT = PROJECT_ROOT / ".localdev"


async def _run(config: SoakConfig, storage: str) -> list[str]:
    """The stack's logs stay in ``.localdev/soak-*`` to read after a bad run."""
    LOG_ROOT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="soak-", dir=LOG_ROOT))
    report = await Soak(config, storage, workdir).run()
    return [*report.lines(), f"logs              {workdir}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--only", choices=["callbacks", "checks"], default=None)
    args = parser.parse_args(argv)
    variants = [("with PUBLIC_BASE_URL (callbacks)", True), ("without (status checks)", False)]
    if args.only:
        variants = [variant for variant in variants if variant[1] == (args.only == "callbacks")]
    with Azurite() as azurite:
        for title, callbacks in variants:
            config = SoakConfig(
                messages=args.messages,
                kills=args.kills,
                fault_rate=args.fault_rate,
                public_callbacks=callbacks,
                patience_seconds=900.0,
                producers=24,
            )
            print(f"soak: {args.messages} messages, {title}")
            for line in asyncio.run(_run(config, azurite.connection_string)):
                print(f"  {line}")
            print()


if __name__ == "__main__":
    main()
