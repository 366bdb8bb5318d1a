"""``python -m localdev.twilio_sim``: serve the Twilio stand-in until interrupted."""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from localdev.twilio_sim.app import create_app
from localdev.twilio_sim.config import ConfigError, SimConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.twilio_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = SimConfig.from_env()
    except ConfigError as error:
        print(f"twilio_sim: {error}", file=sys.stderr)
        return 2
    logging.getLogger(__name__).info(
        "Twilio simulator for %s on http://%s:%s", config.account_sid, args.host, args.port
    )
    web.run_app(
        create_app(config), host=args.host, port=args.port, print=None, shutdown_timeout=5.0
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
