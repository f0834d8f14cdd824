"""The secret key: signs web sessions and keys the fingerprints of identity numbers.

Taken from the environment (`MONITOR_SECRET_KEY`). Without it, a random key
is created once in a file beside the database (mode 0600) so that the demo
and a first run work; production sets the variable. It never goes into the
database or the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ENV = "MONITOR_SECRET_KEY"


def secret_key(db_path: str | os.PathLike) -> bytes:
    value = os.environ.get(ENV)
    if value:
        return value.encode()
    path = Path(db_path).resolve().parent / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def fingerprint(key: bytes, kind: str, value: str) -> str:
    """A keyed fingerprint of one identifier: equal values link, the value cannot be read back."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
