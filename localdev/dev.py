"""``make dev``: the whole loop on this machine until Ctrl-C.

Starts Azurite (when the app uses development storage), the Twilio simulator (when
``TWILIO_API_BASE_URL`` points at this machine and the account is the simulator's
placeholder; real credentials always go to Twilio), the Event Grid stand-in and the webhook
receiver (when ``EVENT_GRID_TOPIC_ENDPOINT`` / ``EVENT_WEBHOOK_URL`` point at this machine)
and the local Functions host, then prints what to paste to send a first SMS, read its status
and watch its events arrive.
"""

from __future__ import annotations

import shutil
import signal
import socket
import sys
import time

from localdev.azurite import PROJECT_ROOT, Azurite
from localdev.host.keys import KEYS_FILE, resolve_keys
from localdev.stack import (
    DEV_STORAGE,
    Part,
    Stack,
    StackStartError,
    event_stand_ins,
    read_settings,
    simulator_port,
)
from localdev.twilio_sim.config import DEFAULT_ACCOUNT_SID

SETTINGS = PROJECT_ROOT / "local.settings.json"
EXAMPLE = PROJECT_ROOT / "local.settings.json.example"
LOGS = PROJECT_ROOT / ".localdev" / "logs"
HOST_LOG = LOGS / "host.log"
KEYS = PROJECT_ROOT / KEYS_FILE
HOST_PORT = 7071


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def simulated_twilio_port(values: dict[str, str]) -> int | None:
    """The simulator's port, unless the settings hold real credentials: those go to Twilio."""
    if values.get("TWILIO_ACCOUNT_SID") != DEFAULT_ACCOUNT_SID:
        return None
    return simulator_port(values)


def events_lines(parts: tuple[Part, ...]) -> list[str]:
    """How to watch the events arrive at the stand-ins, and how to make one fail."""
    if not parts:
        return [
            "Events: no local destination is configured (EVENT_GRID_TOPIC_ENDPOINT,",
            "  EVENT_WEBHOOK_URL), so none is sent.",
            "",
        ]
    names = {"event_grid": "the Event Grid stand-in", "webhook_receiver": "the webhook receiver"}
    lines = ["Watch the events arrive (CloudEvents; a webhook's signature is checked):"]
    for part in parts:
        lines.append(f"  curl -s http://127.0.0.1:{part.port}/received    # {names[part.name]}")
    first = parts[-1]
    lines += [
        f"Make {names[first.name]} fail for a minute (then DELETE /faults to end it sooner):",
        f"  curl -s -X POST http://127.0.0.1:{first.port}/faults"
        """ -d '{"status": 503, "seconds": 60}'""",
        "",
    ]
    return lines


def banner(stack: Stack, key: str, sim_port: int | None) -> str:
    base = stack.base_url
    grid = next((part for part in stack.parts if part.name == "event_grid"), None)
    hook = next((part for part in stack.parts if part.name == "webhook_receiver"), None)
    lines = [
        "",
        "The gateway is running.",
        f"  Functions host     {base}/api/  (function key: {key})",
        f"  Twilio simulator   http://127.0.0.1:{sim_port}/_sim/messages"
        if sim_port
        else "  Twilio             the real API (TWILIO_API_BASE_URL is not local)",
        "  Azurite            127.0.0.1:10000-10002",
        f"  Event Grid         http://127.0.0.1:{grid.port}/api/events  (stand-in)"
        if grid
        else "  Event Grid         not local (EVENT_GRID_TOPIC_ENDPOINT)",
        f"  Webhook receiver   http://127.0.0.1:{hook.port}/  (checks signatures)"
        if hook
        else "  Webhook receiver   not local (EVENT_WEBHOOK_URL)",
        f"  Logs               the gateway's and the host's: this terminal and {HOST_LOG}",
        f"                     Azurite's and the simulator's: {LOGS}/",
        f"  The function key   is kept in {KEYS}; `make key` prints it",
        "",
        "Send an SMS (the last line is the HTTP status):",
        f"  curl -s -X POST {base}/api/messages -H 'x-functions-key: {key}' \\",
        "    -H 'Content-Type: application/json' -H 'Idempotency-Key: hello-1' \\",
        """    -d '{"to": "+15551234567", "body": "Hello from the gateway"}' \\""",
        "    -w '\\n%{http_code}\\n'",
        "Read its status and history (final after a second or two):",
        f"  curl -s {base}/api/messages/hello-1 -H 'x-functions-key: {key}'",
        "An empty answer is a 401: the key is missing or wrong, and the log above says which.",
        *events_lines(stack.parts),
        "The how-to in README.md (calls, your own TwiML, an inbound menu) starts with:",
        f"  export KEY={key}",
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def print_key() -> int:
    """``make key``: the function key ``make dev`` uses (made now if there is none yet)."""
    print(resolve_keys(PROJECT_ROOT).function_key)
    return 0


def main() -> int:
    if sys.argv[1:] == ["--key"]:
        return print_key()
    if not SETTINGS.exists():
        shutil.copyfile(EXAMPLE, SETTINGS)
        print(f"Created {SETTINGS.name} from the example; edit it to change settings.")
    values = read_settings(SETTINGS)
    azurite = None
    if values.get("AzureWebJobsStorage", "").strip() == DEV_STORAGE:
        if _port_free(10001):
            azurite = Azurite(10000, 10001, 10002, in_memory=False, log_path=LOGS / "azurite.log")
            LOGS.mkdir(parents=True, exist_ok=True)
        else:
            print("Storage ports are in use: using the Azurite that is already running.")
            values.pop("AzureWebJobsStorage")
    if not _port_free(HOST_PORT):
        print(f"Port {HOST_PORT} is in use: is another `make dev` running?", file=sys.stderr)
        return 1
    key = resolve_keys(PROJECT_ROOT).function_key
    sim_port = simulated_twilio_port(values)
    if sim_port is None and simulator_port(values) is not None:
        print("Real Twilio credentials found: the app talks to Twilio; no simulator.")
        values["TWILIO_API_BASE_URL"] = ""
    stack = Stack(
        host_port=HOST_PORT,
        settings=values,
        function_key=key,
        azurite=azurite,
        log_dir=LOGS,
        on_console=("host",),
        host_args=("--log-file", str(HOST_LOG)),
        parts=event_stand_ins(values),
    )
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
    except StackStartError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 1
    print(banner(stack, key, sim_port), flush=True)
    try:
        while not stopping:
            exited = stack.poll()
            if exited:
                print(f"{exited} stopped unexpectedly; see {LOGS}/{exited}.log", file=sys.stderr)
                return 1
            time.sleep(0.5)
    finally:
        print("Stopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
