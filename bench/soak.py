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
from tests.support.soak import Soak, SoakConfig, SoakReport

LOG_ROOT = PROJECT_ROOT / ".localdev"


async def _run(config: SoakConfig, storage: str, rounds: int) -> list[str]:
    """Each round is a fresh stack on fresh tables and queues: Azurite slows to a crawl once a
    table holds tens of thousands of rows (Azure/Azurite#1117), which real storage does not.
    The stack's logs stay in ``.localdev/soak-*`` to read after a bad run."""
    LOG_ROOT.mkdir(parents=True, exist_ok=True)
    total = SoakReport()
    for _ in range(rounds):
        workdir = Path(tempfile.mkdtemp(prefix="soak-", dir=LOG_ROOT))
        total.merge(await Soak(config, storage, workdir).run())
    return [*total.lines(), f"logs              {LOG_ROOT}/soak-*"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="in all rounds together")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kills", type=int, default=3, help="per round")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--only", choices=["callbacks", "checks"], default=None)
    args = parser.parse_args(argv)
    variants = [("with PUBLIC_BASE_URL (callbacks)", True), ("without (status checks)", False)]
    if args.only:
        variants = [variant for variant in variants if variant[1] == (args.only == "callbacks")]
    with Azurite() as azurite:
        for title, callbacks in variants:
            config = SoakConfig(
                messages=args.messages // args.rounds,
                kills=args.kills,
                fault_rate=args.fault_rate,
                public_callbacks=callbacks,
                patience_seconds=900.0,
                producers=24,
            )
            print(f"soak: {args.messages} messages in {args.rounds} rounds, {title}")
            for line in asyncio.run(_run(config, azurite.connection_string, args.rounds)):
                print(f"  {line}")
            print()


if __name__ == "__main__":
    main()
