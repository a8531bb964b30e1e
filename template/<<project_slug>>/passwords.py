"""Password hashing: Argon2id through argon2-cffi.

Argon2id is OWASP's first choice and RFC 9106's recommendation; argon2-cffi is the kept binding
(wheels for every platform, typed) and encodes its parameters in each hash, so that a later,
costlier setting upgrades old hashes at login (`needs_rehash`). hashlib's scrypt has no such
encoded form, and bcrypt ignores everything past 72 bytes.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106's second recommended profile (64 MiB, 3 passes, 4 lanes): tens of milliseconds per
# login. Each login in progress holds the memory: size the server's RAM for concurrent logins.
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
# Argon2 costs the same for any length; the bound only keeps absurd bodies out.
MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. Without a hash (no such user, or no password set) it still
    spends the time of a real check, so that the answer's timing does not tell them apart."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
    except VerificationError:
        return False
    except InvalidHashError:  # not a hash this library wrote: refuse rather than fail
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why `password` is refused, or None. Length is what matters (NIST SP 800-63B); no
    composition rules, which push users to predictable patterns."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    return None


@cache
def _dummy_hash() -> str:
    """A hash of a random password with the current parameters, made once per process."""
    return _hasher.hash(secrets.token_urlsafe(16))
