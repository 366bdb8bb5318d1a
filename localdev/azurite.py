"""Starts Azurite, Microsoft's storage emulator, from the project's pinned npm install."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from localdev.ports import free_port, wait_for_port
from localdev.processes import stop_process

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"

# Azurite's well-known development account; public and documented by Microsoft.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class AzuriteNotInstalledError(RuntimeError):
    """Azurite is missing from node_modules: run `npm ci` (the Makefile does)."""


@dataclass
class Azurite:
    """One Azurite process with blob, queue and table services on the given ports.

    Port 0 means "pick a free one", which is what tests use.
    """

    blob_port: int = 0
    queue_port: int = 0
    table_port: int = 0
    in_memory: bool = True
    log_path: Path | None = None
    extra_args: tuple[str, ...] = ()
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> Azurite:
        if not AZURITE_BIN.exists():
            raise AzuriteNotInstalledError(f"{AZURITE_BIN} not found; run `npm ci`")
        self.blob_port = self.blob_port or free_port()
        self.queue_port = self.queue_port or free_port()
        self.table_port = self.table_port or free_port()
        args = [
            str(AZURITE_BIN),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--loose",
            "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
            "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
            "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
        ]  # fmt: skip
        if self.in_memory:
            args.append("--inMemoryPersistence")
        else:
            workspace = PROJECT_ROOT / ".localdev" / "azurite"
            workspace.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(workspace)]
        args += self.extra_args
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self._process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        for port in (self.blob_port, self.queue_port, self.table_port):
            wait_for_port(port)
        return self

    def stop(self) -> None:
        if self._process is None:
            return
        stop_process(self._process, timeout=10)
        self._process = None

    @property
    def connection_string(self) -> str:
        base = "http://127.0.0.1"
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base}:{self.blob_port}/{ACCOUNT_NAME};"
            f"QueueEndpoint={base}:{self.queue_port}/{ACCOUNT_NAME};"
            f"TableEndpoint={base}:{self.table_port}/{ACCOUNT_NAME};"
        )

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
