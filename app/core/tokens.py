"""Bearer tokens for scripts: short-lived JWTs (HS256) signed with `SECRET_KEY`.

A token names its user (`sub`), this service (`aud`), when it was issued (`iat`, to the
microsecond) and when it expires (`exp`, `TOKEN_MINUTES` later). Anything else is refused:
another algorithm (`alg: none` included), a bad signature, another audience, a missing
claim, an expired token. A user's tokens issued before their `tokens_not_before` stamp are
refused too (`app/crud/login_session.py`): signing out everywhere, a new password,
deactivation set it.
"""

import time
from dataclasses import dataclass

import jwt

from app.core.config import Settings

ALGORITHM = "HS256"
REQUIRED = ["sub", "aud", "iat", "exp"]


@dataclass(frozen=True, slots=True)
class Claims:
    """What a valid token says: whose it is and when it was issued (seconds since epoch)."""

    user_id: int
    issued_at: float


def issue(user_id: int, settings: Settings) -> str:
    """Return a new token for the user, valid for `TOKEN_MINUTES`."""
    now = time.time()
    claims = {
        "sub": str(user_id),
        "aud": settings.token_audience,
        "iat": round(now, 6),
        "exp": int(now) + settings.token_minutes * 60,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def read(token: str, settings: Settings) -> Claims | None:
    """Return the claims of a valid token of this service, else None."""
    if len(token) > 2048:
        return None
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=settings.token_audience,
            options={"require": REQUIRED},
        )
        user_id = int(claims["sub"])
        issued_at = float(claims["iat"])
    except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError):
        return None
    return Claims(user_id, issued_at) if 1 <= user_id <= 2**31 - 1 else None
