"""Staff passwords for the console: argon2id hashes, and the rule a new one must meet."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from open311.errors import InvalidRequest

MIN_LENGTH: Final = 12  # a passphrase, not a word: NIST SP 800-63B asks at least 8
MAX_LENGTH: Final = 256  # hashing a megabyte of "password" is work for nothing


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's (RFC 9106) parameters


def hash_password(plaintext: str) -> str:
    check_new(plaintext)
    return _hasher().hash(plaintext)


def verify(stored_hash: str, plaintext: str) -> bool:
    """Does `plaintext` match? Never raises for a wrong or malformed hash."""
    try:
        return _hasher().verify(stored_hash, plaintext[:MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher().check_needs_rehash(stored_hash)


def check_new(plaintext: str) -> None:
    if not MIN_LENGTH <= len(plaintext) <= MAX_LENGTH:
        raise InvalidRequest(
            f"password: between {MIN_LENGTH} and {MAX_LENGTH} characters (a short sentence works)."
        )


# Verified when no account matches, so that a wrong email costs the same time as a
# wrong password and the answer's timing does not tell which emails are staff's.
_DUMMY: Final = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$" + "A" * 43


def waste_time(plaintext: str) -> None:
    verify(_DUMMY, plaintext)
