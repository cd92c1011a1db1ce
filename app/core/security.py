"""Password hashing and session tokens.

Hashing and verifying a password costs tens of milliseconds of CPU and 64 MiB by design,
so the app never does it on the event loop: `Passwords.hash` and `verify` run in a small
pool of worker threads of their own (`PASSWORD_WORKERS`, default 1). A flood of logins
then queues behind that pool and slows logins only; every other request keeps the loop.
"""

import asyncio
import hashlib
import hmac
import secrets
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import cache, lru_cache
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from app.core.config import Settings

TOKEN_BYTES = 32  # 256 bits of randomness per session token
COMMON_PASSWORDS = Path(__file__).with_name("common_passwords.txt")


def normalise_password(password: str) -> str:
    """Return the password as it is hashed and compared: Unicode NFC, nothing stripped
    (NIST SP 800-63B: the same password typed on any keyboard gives the same bytes)."""
    return unicodedata.normalize("NFC", password)


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    """Whether `password` is on the bundled list of common passwords, in any case."""
    return password.lower() in _common_passwords()


@lru_cache
def password_hasher(time_cost: int, memory_cost: int) -> PasswordHash:
    """Return the hasher: argon2id for new hashes, bcrypt hashes still verify."""
    return PasswordHash(
        (Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost), BcryptHasher())
    )


class Passwords:
    """Hash and verify passwords with the cost the settings name, off the event loop."""

    def __init__(self, *, time_cost: int, memory_cost: int, workers: int = 1) -> None:
        self._hasher = password_hasher(time_cost, memory_cost)
        # Verified when the username is unknown, so both failures cost the same.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="passwords")

    async def hash(self, password: str) -> str:
        """Return a new hash of `password`, computed in the password threads."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hasher.hash, password
        )

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Return whether `password` matches, and a new hash when the old one is outdated."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, password, hashed
        )

    def _verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
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
    return _passwords(
        settings.argon2_time_cost, settings.argon2_memory_cost, settings.password_workers
    )


@lru_cache
def _passwords(time_cost: int, memory_cost: int, workers: int) -> Passwords:
    return Passwords(time_cost=time_cost, memory_cost=memory_cost, workers=workers)
