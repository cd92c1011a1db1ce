"""Sign-in throttling: failures counted in the database, so every worker and instance agrees.

Each failed sign-in counts under three keys: the account at the client's address, the
account anywhere, and the address. Past a key's limit every further failure blocks that
key for a growing delay (2 s, 4 s, 8 s, ... up to `LOGIN_MAX_DELAY_SECONDS`); a sign-in
while any of its keys is blocked is refused (429) without the password being checked.
The account-at-address limit is low and the account's own limit high: an attacker
hammering an account from one address is slowed long before the account is, so the real
user signing in elsewhere is not locked out. A success clears the account's keys (its
count, and its count at that address); an address's count only ages out: signing in to
one's own account does not buy more guesses at others. Counts older than
`LOGIN_FAILURE_WINDOW_MINUTES` start afresh.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.config import Settings
from app.core.database import utcnow
from app.core.errors import Throttled
from app.models.throttle import LoginFailure

FAILURES: Table = LoginFailure.__table__  # type: ignore[assignment]
KEY_LENGTH = 400


@dataclass(frozen=True)
class Keys:
    """The keys one sign-in attempt counts under, each with its limit (0: not counted)."""

    pair: str
    account: str
    address: str

    def limits(self, settings: Settings) -> dict[str, int]:
        limits = {
            self.pair: settings.login_max_failures,
            self.account: settings.login_max_failures_account,
            self.address: settings.login_max_failures_address,
        }
        return {key: limit for key, limit in limits.items() if limit > 0}


def keys_for(account: str, address: str | None) -> Keys:
    """Return the keys of an attempt on `account` (a user id, or the name typed when no
    user has it) from `address`."""
    address = (address or "unknown")[:64]
    return Keys(
        pair=f"account:{account}@{address}"[:KEY_LENGTH],
        account=f"account:{account}"[:KEY_LENGTH],
        address=f"address:{address}",
    )


BLOCKED = select(func.max(FAILURES.c.blocked_until)).where(
    FAILURES.c.key.in_(bindparam("keys", expanding=True)),
    FAILURES.c.blocked_until > bindparam("now"),
)


async def check(session: AsyncSession, keys: Keys, settings: Settings) -> None:
    """Raise `Throttled` when any key of this attempt is blocked now."""
    limits = keys.limits(settings)
    if not limits:
        return
    now = utcnow()
    connection = await session.connection()
    until = await connection.scalar(BLOCKED, {"keys": list(limits), "now": now})
    if until is not None:
        raise Throttled(max(1, math.ceil((until - now).total_seconds())))


def delay(failures: int, limit: int, settings: Settings) -> timedelta:
    """The block after the `failures`-th failure under a key whose limit is `limit`."""
    over = failures - limit
    seconds = settings.login_max_delay_seconds if over >= 20 else 2 ** (over + 1)
    return timedelta(seconds=min(seconds, settings.login_max_delay_seconds))


async def failed(session: AsyncSession, keys: Keys, settings: Settings) -> None:
    """Count a failed sign-in under each key; block the keys past their limit.

    The account's own count grows only while the account at this address is within its
    limit: one address adds at most that many failures to it, however long it hammers.
    """
    limits = keys.limits(settings)
    if not limits:
        return
    connection = await session.connection()
    now = utcnow()
    first = sorted(key for key in limits if key != keys.account)
    counted = await _count(connection, first, now, settings) if first else {}
    if keys.account in limits and counted.get(keys.pair, 0) <= limits.get(keys.pair, 0):
        counted |= await _count(connection, [keys.account], now, settings)
    for key, failures in counted.items():
        if failures >= limits[key]:
            until: datetime = now + delay(failures, limits[key], settings)
            await connection.execute(
                update(FAILURES).where(FAILURES.c.key == key).values(blocked_until=until)
            )


async def _count(
    connection: AsyncConnection, keys: list[str], now: datetime, settings: Settings
) -> dict[str, int]:
    """Add one failure under each key (afresh when its last is stale); return the counts."""
    stale = now - timedelta(minutes=settings.login_failure_window_minutes)
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(FAILURES).values(
        [{"key": key, "failures": 1, "last_failed_at": now} for key in keys]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[FAILURES.c.key],
        set_={
            "failures": case((FAILURES.c.last_failed_at < stale, 1), else_=FAILURES.c.failures + 1),
            "last_failed_at": now,
        },
    ).returning(FAILURES.c.key, FAILURES.c.failures)
    return {key: failures for key, failures in (await connection.execute(stmt)).all()}


async def succeeded(session: AsyncSession, keys: Keys) -> None:
    """Clear the account's counts after a good sign-in (the address keeps its own)."""
    connection = await session.connection()
    await connection.execute(delete(FAILURES).where(FAILURES.c.key.in_([keys.pair, keys.account])))
