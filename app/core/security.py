"""Password hashing and session tokens."""

import hashlib
import hmac
import secrets
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from app.core.config import Settings

TOKEN_BYTES = 32  # 256 bits of randomness per session token


@lru_cache
def password_hasher(time_cost: int, memory_cost: int) -> PasswordHash:
    """Return the hasher: argon2id for new hashes, bcrypt hashes still verify."""
    return PasswordHash(
        (Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost), BcryptHasher())
    )


class Passwords:
    """Hash and verify passwords with the cost the settings name."""

    def __init__(self, *, time_cost: int, memory_cost: int) -> None:
        self._hasher = password_hasher(time_cost, memory_cost)
        # Verified when the username is unknown, so both failures cost the same.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Return whether `password` matches, and a new hash when the old one is outdated."""
        if hashed is None:
            self._hasher.verify(password, self._dummy_hash)
            return False, None
        try:
            return self._hasher.verify_and_update(password, hashed)
        except Exception:  # an unreadable stored hash never matches
            return False, None


def new_session_token() -> str:
    """Return a fresh random session token for the cookie."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_session_token(token: str, secret_key: str) -> str:
    """Return the keyed hash stored instead of the token."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def passwords_for(settings: Settings) -> Passwords:
    """Return the password hasher with the cost these settings name (one per cost)."""
    return _passwords(settings.argon2_time_cost, settings.argon2_memory_cost)


@lru_cache
def _passwords(time_cost: int, memory_cost: int) -> Passwords:
    return Passwords(time_cost=time_cost, memory_cost=memory_cost)
