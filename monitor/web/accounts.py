"""Users, roles and passwords, shared by the CLI and the review page.

Passwords are hashed with scrypt (standard library, memory-hard). After
MAX_FAILURES wrong passwords in a row an account is locked for LOCKOUT
minutes. Roles: admin (everything: users, audit log, revealing identity
numbers), reviewer (decide and annotate), viewer (read only).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets

from ..store import Database

ROLES = ("admin", "reviewer", "viewer")
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    return hmac.compare_digest(computed, base64.b64decode(digest))


def validate_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]{1,31}", name or ""):
        raise AccountError("user names are 2-32 lower-case letters, digits, '.', '_' or '-'")
    return name


def validate_password(password: str) -> str:
    if len(password or "") < 10:
        raise AccountError("passwords need at least 10 characters")
    return password


def add_user(db: Database, name: str, role: str, password: str, by: str | None = None) -> None:
    validate_name(name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if db.user(name):
        raise AccountError(f"user {name!r} exists")
    db.add_user(name, role, hash_password(validate_password(password)))
    db.audit(by, "user.add", name, None, {"role": role})


def set_password(db: Database, name: str, password: str, by: str | None = None) -> None:
    if not db.user(name):
        raise AccountError(f"no user {name!r}")
    db.update_user(name, password_hash=hash_password(validate_password(password)), failed_logins=0, locked_until=None)
    db.audit(by, "user.set_password", name)


def set_disabled(db: Database, name: str, disabled: bool, by: str | None = None) -> None:
    user = db.user(name)
    if not user:
        raise AccountError(f"no user {name!r}")
    db.update_user(name, disabled=int(disabled))
    db.audit(by, "user.disable" if disabled else "user.enable", name, {"disabled": bool(user["disabled"])}, {"disabled": disabled})


def authenticate(db: Database, name: str, password: str, now: dt.datetime | None = None) -> tuple[dict | None, str]:
    """(user, "") on success, else (None, why). Every attempt is written to the audit log."""
    now = now or dt.datetime.now(dt.timezone.utc)
    user = db.user(name or "")
    if user is None:
        check_password(password or "", hash_password("x" * 10))  # same work, so timing does not tell names
        db.audit(name, "login.failed", name, None, "unknown user")
        return None, "bad"
    if user["disabled"]:
        db.audit(name, "login.failed", name, None, "disabled")
        return None, "bad"
    if user["locked_until"] and dt.datetime.fromisoformat(user["locked_until"]) > now:
        db.audit(name, "login.failed", name, None, "locked")
        return None, "locked"
    if not check_password(password or "", user["password_hash"]):
        failures = user["failed_logins"] + 1
        locked = (now + LOCKOUT).isoformat(timespec="seconds") if failures >= MAX_FAILURES else None
        db.update_user(name, failed_logins=0 if locked else failures, locked_until=locked)
        db.audit(name, "login.failed", name, None, "locked after repeated failures" if locked else "wrong password")
        return None, "locked" if locked else "bad"
    db.update_user(name, failed_logins=0, locked_until=None)
    db.audit(name, "login", name)
    return db.user(name), ""
