"""``make soak``: the delivery promise at scale, with and without ``PUBLIC_BASE_URL``.

Three scenarios, each run with status callbacks and without (status checks only), the host
SIGKILLed and restarted while messages flow; each prints what was accepted, lost, sent
twice, left open, failed, and failed although sent, by what the simulator received:

- ``faults``: thousands of messages while the fault proxy fails 20% of Twilio creates;
- ``outage``: a paced feed with a Twilio outage in its middle (every request answered 503,
  then a run with 429), for ``--outage-seconds``; not one record may end ``failed``, and the
  report says how long after the outage every record was final;
- ``limit``: Twilio's concurrency limit below the worker's sends in flight (429 / 20429
  beyond ``--limit`` requests in flight, each taking ``--latency``); not one ``failed``, and
  the requests Twilio took per second against what the limit allows, in the slowest of
  ``--limit-rounds`` rounds on fresh tables (as the faults: Azurite's table queries slow
  down, and stall for seconds, as a table grows, which Table Storage does not);
- ``events``: every status change of every record published to the webhook receiver and the
  Event Grid stand-in (every transition), ``--event-fail-ratio`` of their answers failing,
  the receiver down for ``--receiver-outage-seconds`` mid-feed, host kills; it prints the
  events expected, delivered (distinct ids), lost, duplicate deliveries and dead-lettered,
  and how many records' events do not sort into their history's order (lost and that must
  be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from localdev.azurite import PROJECT_ROOT, Azurite
from tests.support.soak import Soak, SoakConfig, SoakReport

LOG_ROOT = PROJECT_ROOT / ".localdev"
SCENARIOS = ("faults", "outage", "limit", "events")


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


def _runs(args: argparse.Namespace) -> Iterator[tuple[str, SoakConfig, int]]:
    """(title, config, rounds) of every run the arguments ask for."""
    variants = [("with PUBLIC_BASE_URL (callbacks)", True), ("without (status checks)", False)]
    if args.only:
        variants = [variant for variant in variants if variant[1] == (args.only == "callbacks")]
    for scenario in args.scenarios.split(","):
        for title, callbacks in variants:
            base = SoakConfig(
                kills=args.kills, public_callbacks=callbacks, patience_seconds=900.0, producers=24
            )
            if scenario == "faults":
                config = replace(
                    base, messages=args.messages // args.rounds, fault_rate=args.fault_rate
                )
                yield (
                    f"{args.messages} messages in {args.rounds} rounds, {title}",
                    config,
                    args.rounds,
                )
            elif scenario == "outage":
                # The outage sits mid-feed: a quarter of the feed before it, a quarter after.
                feed_seconds = args.outage_seconds * 2
                for status in (int(answer) for answer in args.outage_answers.split(",")):
                    config = replace(
                        base,
                        messages=int(feed_seconds * args.feed_rate),
                        fault_rate=0.0,
                        feed_rate=args.feed_rate,
                        outage_status=status,
                        outage_after=feed_seconds / 4,
                        outage_seconds=args.outage_seconds,
                        retry_max_seconds=args.retry_max_seconds,
                        patience_seconds=900.0 + args.outage_seconds,
                    )
                    what = f"{args.outage_seconds:g} s outage ({status}) mid-feed"
                    yield f"{what}, {config.messages} messages, {title}", config, 1
            elif scenario == "events":
                # A paced feed long enough for the receiver's outage to sit in its middle.
                feed_seconds = max(args.receiver_outage_seconds * 1.5, 30.0)
                config = replace(
                    base,
                    messages=int(feed_seconds * args.feed_rate),
                    fault_rate=args.fault_rate,
                    feed_rate=args.feed_rate,
                    events=True,
                    event_fail_ratio=args.event_fail_ratio,
                    receiver_outage_seconds=args.receiver_outage_seconds,
                    receiver_outage_after=feed_seconds / 4,
                    event_retry_max_seconds=args.retry_max_seconds,
                    patience_seconds=900.0 + args.receiver_outage_seconds,
                )
                what = f"events, {args.receiver_outage_seconds:g} s receiver outage"
                yield f"{what}, {config.messages} messages, {title}", config, 1
            elif scenario == "limit":
                # The run's kills spread over its rounds (at least one each), not in each.
                config = replace(
                    base,
                    kills=max(1, args.kills // args.limit_rounds),
                    messages=args.limit_messages // args.limit_rounds,
                    fault_rate=0.0,
                    concurrency_limit=args.limit,
                    twilio_latency=args.latency,
                )
                what = f"concurrency limit {args.limit} at {args.latency * 1000:g} ms"
                feed = f"{args.limit_messages} messages in {args.limit_rounds} rounds"
                yield f"{what}, {feed}, {title}", config, args.limit_rounds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--messages", type=int, default=10_000, help="faults: in all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--kills", type=int, default=3, help="per round (limit: in all, at least one a round)"
    )
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--outage-seconds", type=float, default=600.0)
    parser.add_argument(
        "--outage-answers", default="503,429", help="outage: one run per status, e.g. 503"
    )
    parser.add_argument("--feed-rate", type=float, default=2.0, help="outage: messages/s")
    parser.add_argument(
        "--retry-max-seconds", type=float, default=60.0, help="outage: the backoff's cap"
    )
    parser.add_argument("--limit", type=int, default=6, help="Twilio requests in flight")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per request")
    parser.add_argument("--limit-messages", type=int, default=2000)
    parser.add_argument("--limit-rounds", type=int, default=4, help="limit: on fresh tables")
    parser.add_argument("--only", choices=["callbacks", "checks"], default=None)
    parser.add_argument("--event-fail-ratio", type=float, default=0.2, help="events")
    parser.add_argument(
        "--receiver-outage-seconds", type=float, default=600.0, help="events: 503 for so long"
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"--scenarios: {', '.join(sorted(unknown))} not among {', '.join(SCENARIOS)}")
    with Azurite() as azurite:
        for title, config, rounds in _runs(args):
            print(f"soak: {title}", flush=True)
            for line in asyncio.run(_run(config, azurite.connection_string, rounds)):
                print(f"  {line}", flush=True)
            print(flush=True)


if __name__ == "__main__":
    main()
