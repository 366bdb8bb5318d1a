"""`python -m localdev.fault_proxy --upstream URL [--port N] [--fault-rate R] ...`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from localdev.fault_proxy.proxy import FAULTS, FaultProxy, ProxyConfig
from localdev.storage_requests import CLASSIFIERS

log = logging.getLogger("localdev.fault_proxy")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localdev.fault_proxy", description=__doc__)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:4010")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4011)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of creates, 0..1")
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma-separated kinds")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--concurrency-limit",
        type=int,
        default=None,
        help="answer 429 (20429) beyond this many requests in flight",
    )
    parser.add_argument(
        "--count",
        choices=sorted(CLASSIFIERS),
        default=None,
        help="count requests by operation, shown at /_proxy/stats",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    config = ProxyConfig(
        upstream=args.upstream,
        fault_rate=args.fault_rate,
        faults=tuple(kind for kind in args.faults.split(",") if kind),
        latency_seconds=args.latency,
        hang_seconds=args.hang_seconds,
        seed=args.seed,
        classify=CLASSIFIERS[args.count] if args.count else None,
        concurrency_limit=args.concurrency_limit,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FaultProxy(config, host=args.host, port=args.port) as proxy:
        log.info("fault proxy on %s -> %s", proxy.base_url, config.upstream)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    try:
        asyncio.run(serve(parse_args(argv)))
    except ValueError as exc:
        log.critical("cannot start: %s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
