"""`python -m localdev.host`: run an app like `func start` would, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from localdev.host.discovery import AppLoadError
from localdev.host.host import LocalHost
from localdev.host.hostjson import HostJsonError
from localdev.host.keys import KeysFileError
from localdev.host.queue_listener import DEFAULT_LEASE
from localdev.host.settings import SettingsFileError

log = logging.getLogger("localdev.host")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localdev.host", description=__doc__)
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="default: cwd")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="default: Host.LocalHttpPort from the settings file, else 7071",
    )
    parser.add_argument(
        "--settings", type=Path, default=None, help="instead of local.settings.json"
    )
    parser.add_argument(
        "--function-key",
        default=None,
        help="default: $LOCALDEV_FUNCTION_KEY, else the one kept in <app-dir>/.localdev/",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=30.0,
        help="seconds running invocations get to finish at shutdown",
    )
    parser.add_argument(
        "--message-lease",
        type=float,
        default=DEFAULT_LEASE.total_seconds(),
        help="seconds a received queue message stays hidden from other instances (renewed "
        "while its function runs); after a crash it comes back when this ends. Default 600",
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="also append every log line (the host's and the app's) to this file",
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with LocalHost(
        args.app_dir,
        host=args.host,
        port=args.port,
        settings_file=args.settings,
        function_key=args.function_key,
        drain_timeout=args.drain_timeout,
        message_lease=timedelta(seconds=args.message_lease),
    ) as host:
        log.info("Host started on %s; press Ctrl-C to stop", host.base_url)
        await stop.wait()
        log.info("Shutting down")
    log.info("Host stopped")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    if args.log_file is not None:
        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(args.log_file, encoding="utf-8"))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        handlers=handlers,
        format="[%(asctime)s] %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(serve(args))
    except (AppLoadError, HostJsonError, KeysFileError, SettingsFileError, OSError) as exc:
        log.critical("cannot start: %s", exc)
        return 1
    # Apps keep per-process clients that no Functions host closes; at interpreter exit their
    # sessions would be reported as unclosed, which reads like an error after a clean stop.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
