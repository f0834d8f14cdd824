"""The secret key: signs web sessions and keys the fingerprints of identity numbers.

Taken from the environment (`MONITOR_SECRET_KEY`). Without it, a random key
is created once in a file beside the database (mode 0600) so that the demo
and a first run work; production sets the variable. It never goes into the
database or the repository.

Whoever knows the key can forge an admin session, so a key that may be known
to someone else is refused rather than used: one under 32 bytes (an empty file
left by a full disk would sign sessions with a public constant), a file that
another user owns or that group or others may read or write. The file is
created atomically (written and synced under a temporary name, then hard-linked
into place), so processes starting together all read the same, complete key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from .common import PRIVATE_FILE, private_dir

ENV = "MONITOR_SECRET_KEY"
KEY_FILE = "secret.key"
MIN_BYTES = 32
NEW_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class SecretKeyError(Exception):
    """A secret key that must not be used; the message says what to do about it."""


def secret_key(db_path: str | os.PathLike) -> bytes:
    """The key from MONITOR_SECRET_KEY, else from `secret.key` beside the database (created if missing)."""
    value = os.environ.get(ENV)
    if value:
        key = value.encode()
        if len(key) < MIN_BYTES:
            raise SecretKeyError(f"{ENV} is {len(key)} bytes long; a key needs at least {MIN_BYTES} "
                                 f"(make one with: {NEW_KEY})")
        return key
    path = Path(db_path).resolve().parent / KEY_FILE
    try:
        return read_key_file(path)
    except FileNotFoundError:
        pass
    create_key_file(path)
    return read_key_file(path)


def read_key_file(path: Path) -> bytes:
    """The key in `path`, after checking that nobody else can have read or replaced it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secret key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise SecretKeyError(f"the secret key {path} is not a regular file; delete it to create a new key "
                                 "(existing sessions and identifier links will change), or set " + ENV)
        if st.st_uid != os.getuid():
            raise SecretKeyError(f"the secret key {path} belongs to another user (uid {st.st_uid}), who may know it; "
                                 f"delete {path} to create a new key (existing sessions and identifier links will "
                                 f"change), or set {ENV}")
        if st.st_mode & 0o077:
            raise SecretKeyError(f"the secret key {path} has mode {stat.S_IMODE(st.st_mode):04o}: others may have read "
                                 f"or replaced it; if nobody did, run: chmod 600 {path} (else delete it to create a "
                                 "new key; existing sessions and identifier links will change)")
        key = fh.read(4096).strip()
    if len(key) < MIN_BYTES:
        what = "empty" if not key else f"only {len(key)} bytes long"
        raise SecretKeyError(f"the secret key {path} is {what} (a disk that was full?); a key needs at least "
                             f"{MIN_BYTES} bytes. Delete {path} to create a new key (existing sessions and "
                             f"identifier links will change), or set {ENV}")
    return key


def create_key_file(path: Path) -> None:
    """Create `path` with a new random key, unless another process does first (then theirs stays)."""
    private_dir(path.parent)
    tmp = path.parent / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), PRIVATE_FILE)  # whatever the umask
            fh.write(secrets.token_hex(32).encode() + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if the key exists: never replaces a key in use
        except FileExistsError:
            return
        except OSError as exc:
            raise SecretKeyError(f"cannot create the secret key {path}: {exc.strerror} (the file system needs hard "
                                 f"links); set {ENV} instead") from None
        _sync_folder(path.parent)
    except OSError as exc:
        raise SecretKeyError(f"cannot create the secret key {path}: {exc.strerror}; set {ENV} instead") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fingerprint(key: bytes, kind: str, value: str) -> str:
    """A keyed fingerprint of one identifier: equal values link, the value cannot be read back."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
