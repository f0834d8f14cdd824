"""Users, roles and passwords, shared by the CLI and the review page.

Roles: admin (everything: users, audit log, revealing identity numbers),
reviewer (decide and annotate), viewer (read only).

Passwords are MIN_PASSWORD to MAX_PASSWORD (256) characters. `monitor users
add` / `set-password` refuse anything outside that with a message; the login
form checks the same limit and a longer password fails like a wrong one
(nothing is cut, so what was set is what logs in).

Hashing: scrypt (standard library, memory-hard) at OWASP's current guidance,
N=2**17, r=8, p=1 (128 MiB per hash; `maxmem` is raised for it). The
parameters are kept in the hash, `scrypt$N$r$p$salt$digest`; the older
`scrypt$salt$digest` (N=2**14) is still read, and any hash made with other
parameters than today's is rewritten at the next successful login.

MONITOR_TEST_SCRYPT_N (tests only): when set, new hashes use this N (a
power of two from 2**10 to 2**17) instead of 2**17, so that a test suite that
creates users and logs in dozens of times stays fast and small in memory.
Never set it in production; without it the cost is 2**17.

Logging in (`authenticate`): the attempt is counted in one atomic UPDATE
before the password is checked, and an account at MAX_FAILURES is refused
without its password being checked, so parallel guesses cannot outrun the
lockout (MAX_FAILURES wrong passwords lock it for LOCKOUT). Every failure
(unknown user, disabled, locked, wrong or over-long password) does the same
work, one scrypt at today's cost, and gets the same answer, so neither
timing nor wording tells which names exist or are locked. The audit log
records the real reason.

Sessions: each user has a `session_epoch`; a session remembers the epoch it
was made under and is refused once it differs. Logout, a new password, a
role change and disabling bump it, which ends every session of that user
(on every browser: a copied cookie stops working too).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from functools import cache

from ..store import Database

ROLES = ("admin", "reviewer", "viewer")
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # characters; the one limit for the CLI and the login form
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
LEGACY_COST = (2**14, 8, 1)  # hashes written as scrypt$salt$digest
TEST_N_ENV = "MONITOR_TEST_SCRYPT_N"
_DKLEN = 32
_MAX_STORED_N = 2**20  # a stored hash asking for more is refused (a tampered row must not exhaust memory)


class AccountError(ValueError):
    pass


def scrypt_cost() -> tuple[int, int, int]:
    """(N, r, p) for new hashes: 2**17, 8, 1, unless a test lowered N through MONITOR_TEST_SCRYPT_N."""
    raw = os.environ.get(TEST_N_ENV)
    if not raw:
        return SCRYPT_N, SCRYPT_R, SCRYPT_P
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 2**10 or n > SCRYPT_N or n & (n - 1):
        raise AccountError(f"{TEST_N_ENV}={raw!r}: a power of two from 1024 to {SCRYPT_N} (tests only; unset it in production)")
    return n, SCRYPT_R, SCRYPT_P


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    maxmem = min(2**31 - 1, 2 * 128 * r * n * p + 2**20)  # OpenSSL's default cap (32 MiB) is below N=2**17
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=maxmem)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    n, r, p = scrypt_cost()
    salt = secrets.token_bytes(16)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_scrypt(password, salt, n, r, p))}"


def parse_hash(stored: str) -> tuple[tuple[int, int, int], bytes, bytes] | None:
    """((N, r, p), salt, digest) of a stored hash in either format, or None if it is not one."""
    parts = (stored or "").split("$")
    try:
        if len(parts) == 3 and parts[0] == "scrypt":
            return LEGACY_COST, base64.b64decode(parts[1], validate=True), base64.b64decode(parts[2], validate=True)
        if len(parts) == 6 and parts[0] == "scrypt":
            n, r, p = (int(x) for x in parts[1:4])
            if not (2 <= n <= _MAX_STORED_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
                return None
            return (n, r, p), base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    return None


def check_password(password: str, stored: str) -> bool:
    parsed = parse_hash(stored)
    if parsed is None:
        return False
    (n, r, p), salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), digest)


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made in the old format or with other parameters than today's."""
    parsed = parse_hash(stored)
    return parsed is None or stored.count("$") != 5 or parsed[0] != scrypt_cost()


@cache
def _dummy_hash(cost: tuple[int, int, int]) -> str:
    """A hash no password matches, at `cost`: failures check against it to do the same work as a real check."""
    n, r, p = cost
    return f"scrypt${n}${r}${p}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(_DKLEN))}"


def _same_work(password: str) -> None:
    check_password(password[:MAX_PASSWORD], _dummy_hash(scrypt_cost()))


def validate_name(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.\-]{1,31}", name or ""):
        raise AccountError("user names are 2-32 lower-case letters, digits, '.', '_' or '-'")
    return name


def validate_password(password: str) -> str:
    length = len(password or "")
    if length < MIN_PASSWORD:
        raise AccountError(f"passwords need at least {MIN_PASSWORD} characters")
    if length > MAX_PASSWORD:
        raise AccountError(f"passwords have at most {MAX_PASSWORD} characters (this one has {length}); "
                           "the login form refuses longer ones")
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
    """A new password; clears a lockout and ends the user's sessions."""
    if not db.user(name):
        raise AccountError(f"no user {name!r}")
    db.update_user(name, password_hash=hash_password(validate_password(password)), failed_logins=0, locked_until=None)
    db.bump_session_epoch(name)
    db.audit(by, "user.set_password", name)


def set_role(db: Database, name: str, role: str, by: str | None = None) -> None:
    """A new role; ends the user's sessions so that no page keeps acting under the old one."""
    user = db.user(name)
    if not user:
        raise AccountError(f"no user {name!r}")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    db.update_user(name, role=role)
    db.bump_session_epoch(name)
    db.audit(by, "user.set_role", name, {"role": user["role"]}, {"role": role})


def set_disabled(db: Database, name: str, disabled: bool, by: str | None = None) -> None:
    user = db.user(name)
    if not user:
        raise AccountError(f"no user {name!r}")
    db.update_user(name, disabled=int(disabled))
    db.bump_session_epoch(name)
    db.audit(by, "user.disable" if disabled else "user.enable", name, {"disabled": bool(user["disabled"])}, {"disabled": disabled})


def end_sessions(db: Database, name: str) -> None:
    """Log `name` out everywhere (the page's logout)."""
    db.bump_session_epoch(name)


def session_valid(user: dict | None, epoch) -> bool:
    """Whether a session made under `epoch` still belongs to `user` (enabled, epoch unchanged)."""
    return bool(user) and not user["disabled"] and epoch is not None and epoch == (user.get("session_epoch") or 0)


def authenticate(db: Database, name: str, password: str, now: dt.datetime | None = None) -> tuple[dict | None, str]:
    """(user, "") on success, else (None, "bad"): one answer for every failure. Every attempt is audited with its reason."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    stamp = now.isoformat(timespec="seconds")
    password = password or ""

    def fail(reason: str, checked: bool = False) -> tuple[None, str]:
        if not checked:
            _same_work(password)
        db.audit(name, "login.failed", name, None, reason)
        return None, "bad"

    user = db.count_login_attempt(name or "", stamp)  # counted before anything is checked
    if user is None:
        return fail("unknown user")
    if user["disabled"]:
        return fail("disabled")
    if user["locked_until"] and user["locked_until"] > stamp:
        return fail("locked")
    attempt = user["failed_logins"]
    if attempt > MAX_FAILURES:  # parallel attempts already used the last tries: refuse unchecked
        return fail("locked (too many attempts at once)")
    if len(password) > MAX_PASSWORD:
        ok, checked = False, False
    else:
        ok, checked = check_password(password, user["password_hash"]), True
    if not ok:
        if attempt >= MAX_FAILURES:
            db.update_user(name, locked_until=(now + LOCKOUT).isoformat(timespec="seconds"))
            return fail("locked after repeated failures", checked)
        return fail("wrong password" if checked else f"password over {MAX_PASSWORD} characters", checked)
    values = {"failed_logins": 0, "locked_until": None}
    if needs_rehash(user["password_hash"]):
        values["password_hash"] = hash_password(password)  # today's cost, from the password just proven
    db.update_user(name, **values)
    db.audit(name, "login", name, None, {"rehashed": True} if "password_hash" in values else None)
    return db.user(name), ""
