"""Passwords, session tokens and the sign-in throttle: the review desk's security primitives.

Passwords are hashed with scrypt (stdlib, memory-hard) and the parameters are stored in the
hash, so they can be raised later without invalidating existing accounts. Session and CSRF
tokens are random; only a SHA-256 of the session token is stored, so a copy of the ledger
does not hand out live sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

# OWASP's minimum for scrypt: N=2^17, r=8, p=1 (128 MiB).
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_KEY_LEN = 32
_PREFIX = "scrypt"

MIN_PASSWORD_LENGTH = 12


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_KEY_LEN,
        maxmem=256 * 1024 * 1024,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """``scrypt$N$r$p$salt$key``: self-describing so costs can change per account."""
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, n, r, p)
    return f"{_PREFIX}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        prefix, n, r, p, salt, key = encoded.split("$")
        if prefix != _PREFIX:
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the name is unknown, so a wrong name costs as much as a wrong password.
_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(password, _DUMMY_HASH)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_match(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class ThrottlePolicy:
    """After ``free_failures`` wrong passwords in a row, each next try waits, doubling.

    Refusing early (429) instead of sleeping in the handler keeps a password-guesser from
    tying up the server, and the state lives in the ledger so a restart does not reset it.
    """

    free_failures: int = 5
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)

    def locked_until(self, failures: int, last_failure_at: datetime) -> datetime | None:
        if failures < self.free_failures:
            return None
        factor = 2 ** min(failures - self.free_failures, 16)
        return last_failure_at + min(self.base_delay * factor, self.max_delay)


# Per account name: five wrong passwords slow that account. Per client address: a looser
# limit that catches one client spraying many names.
NAME_POLICY = ThrottlePolicy()
ADDRESS_POLICY = ThrottlePolicy(free_failures=20)
