"""Function and master keys, kept stable between runs so bookmarked URLs keep working."""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FUNCTION_KEY_ENV = "LOCALDEV_FUNCTION_KEY"
MASTER_KEY_ENV = "LOCALDEV_MASTER_KEY"
KEYS_FILE = Path(".localdev") / "host_keys.json"


class KeysFileError(ValueError):
    """The persisted keys file exists but cannot be read back."""


@dataclass(frozen=True)
class HostKeys:
    function_key: str
    master_key: str

    def allows_function(self, presented: str | None) -> bool:
        """Function-level auth accepts the function key or the master key."""
        return presented is not None and (
            _same(presented, self.function_key) or _same(presented, self.master_key)
        )

    def allows_admin(self, presented: str | None) -> bool:
        """Admin-level auth accepts only the master key, as in Azure."""
        return presented is not None and _same(presented, self.master_key)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_key() -> str:
    return secrets.token_urlsafe(30)


def resolve_keys(app_dir: Path, function_key: str | None = None) -> HostKeys:
    """The explicit key, else LOCALDEV_FUNCTION_KEY, else the persisted (or a new) one."""
    stored = _load_or_create(app_dir / KEYS_FILE)
    return HostKeys(
        function_key=function_key or os.environ.get(FUNCTION_KEY_ENV) or stored.function_key,
        master_key=os.environ.get(MASTER_KEY_ENV) or stored.master_key,
    )


def _load_or_create(path: Path) -> HostKeys:
    if path.exists():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return HostKeys(
                function_key=str(document["functionKeys"]["default"]),
                master_key=str(document["masterKey"]),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise KeysFileError(f"{path} is unreadable ({exc}); delete it to regenerate") from exc
    keys = HostKeys(function_key=new_key(), master_key=new_key())
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"masterKey": keys.master_key, "functionKeys": {"default": keys.function_key}}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    log.info("generated host keys in %s", path)
    return keys
