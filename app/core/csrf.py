"""CSRF synchronizer tokens, bound to the server-side session (or an anonymous visitor).

A signed-in visitor's token is an HMAC of their session's stored token hash, so it is
bound to that session, replaced at every login, and dies with the session. An anonymous
visitor (login and registration forms) gets a random cookie whose HMAC is the token.
"""

import hashlib
import hmac
import secrets

ANON_COOKIE = "csrf_anon"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def new_anonymous_secret() -> str:
    return secrets.token_urlsafe(32)


def token_for(secret_key: str, *, session_hash: str | None, anonymous: str | None) -> str | None:
    """Return the token a form must carry for this visitor (None without either binding)."""
    if session_hash:
        message = f"session:{session_hash}"
    elif anonymous:
        message = f"anonymous:{anonymous}"
    else:
        return None
    return hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def matches(expected: str | None, sent: str | None) -> bool:
    """Compare in constant time; a missing token never matches."""
    if not expected or not sent or len(sent) > 256:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
