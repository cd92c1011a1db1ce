"""Who is calling, as plain values a request keeps (never ORM objects in its session)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user as a request sees them: a plain copy, never in the ORM session."""

    id: int
    username: str
    full_name: str | None
    is_active: bool
    time_zone: str | None = None  # their setting; None: their browser's zone


@dataclass(frozen=True, slots=True)
class Login:
    """A live login session named by a cookie (a plain copy, written to by its id), or a
    bearer token's stand-in (no id, no hash: there is no session row)."""

    id: int | None
    token_hash: str
    user: Caller
