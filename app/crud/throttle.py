"""Sign-in throttling: attempts counted in the database, so every worker and instance agrees.

Each sign-in counts under three keys: the account at the client's address, the account
anywhere, and the address. It is counted as a failure *before* its password is checked
(`reserve`, committed at once), in one statement that also refuses it while a key is
blocked: however many attempts arrive at once, they are counted one after the other, and
no more passwords are checked than the limits allow. Past a key's limit every further
attempt blocks that key for a growing delay (2 s, 4 s, 8 s, ... up to
`LOGIN_MAX_DELAY_SECONDS`); an attempt while any of its keys is blocked is refused (429)
without the password being checked, and counts nothing. The account-at-address limit is
low and the account's own limit high: an attacker hammering an account from one address is
slowed long before the account is, so the real user signing in elsewhere is not locked out.
A success clears the account's keys (its count, and its count at that address) and takes
its own attempt back from the address's count: an address's failures only age out, so
signing in to one's own account does not buy more guesses at others. Counts older than
`LOGIN_FAILURE_WINDOW_MINUTES` start afresh.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, bindparam, case, delete, func, or_, select, update
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
    address = address or "unknown"  # at most 45 characters (`normalised_address`)
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


async def reserve(session: AsyncSession, keys: Keys, settings: Settings) -> dict[str, int]:
    """Count an attempt as failed under each key before its password is checked, and
    block the keys it takes to their limit; return the counts. Raise `Throttled` when a
    key is blocked (what was counted is then the caller's to roll back).

    The caller commits before checking the password, so the next attempt counts after
    this one. The account's own count grows only while the account at this address is
    within its limit: one address adds at most that many failures to it, however long it
    hammers.
    """
    limits = keys.limits(settings)
    if not limits:
        return {}
    await check(session, keys, settings)  # a blocked key: refused without a write
    connection = await session.connection()
    now = utcnow()
    first = sorted(key for key in limits if key != keys.account)  # one order: no deadlock
    counted = await _count(connection, first, now, settings) if first else {}
    refused = len(counted) < len(first)
    within = counted.get(keys.pair, 0) <= limits.get(keys.pair, 0)
    if not refused and keys.account in limits and within:
        account = await _count(connection, [keys.account], now, settings)
        refused = not account
        counted |= account
    if refused:  # a key was blocked meanwhile: say until when
        await check(session, keys, settings)
        raise Throttled(1)
    for key, failures in counted.items():
        if failures >= limits[key]:
            until: datetime = now + delay(failures, limits[key], settings)
            await connection.execute(
                update(FAILURES).where(FAILURES.c.key == key).values(blocked_until=until)
            )
    return counted


async def _count(
    connection: AsyncConnection, keys: list[str], now: datetime, settings: Settings
) -> dict[str, int]:
    """Add one failure under each key that is not blocked (afresh when its last is stale);
    return the counts of the keys counted. A blocked key is left as it is, and missing."""
    stale = now - timedelta(minutes=settings.login_failure_window_minutes)
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(FAILURES).values(
        [{"key": key, "failures": 1, "last_failed_at": now} for key in keys]
    )
    # Waits for any other attempt's count of the same key, then reads its row afresh.
    stmt = stmt.on_conflict_do_update(
        index_elements=[FAILURES.c.key],
        set_={
            "failures": case((FAILURES.c.last_failed_at < stale, 1), else_=FAILURES.c.failures + 1),
            "last_failed_at": now,
        },
        where=or_(FAILURES.c.blocked_until.is_(None), FAILURES.c.blocked_until <= now),
    ).returning(FAILURES.c.key, FAILURES.c.failures)
    return {key: failures for key, failures in (await connection.execute(stmt)).all()}


async def release(
    session: AsyncSession, keys: Keys, counted: Iterable[str], settings: Settings
) -> None:
    """Take a reserved attempt back from the `counted` keys (it did not fail), lifting the
    block of each key that is then within its limit."""
    limits = keys.limits(settings)
    connection = await session.connection()
    for key in sorted(set(counted) & limits.keys()):
        left = FAILURES.c.failures - 1
        await connection.execute(
            update(FAILURES)
            .where(FAILURES.c.key == key, FAILURES.c.failures > 0)
            .values(
                failures=left,
                blocked_until=case((left < limits[key], None), else_=FAILURES.c.blocked_until),
            )
        )


async def succeeded(session: AsyncSession, keys: Keys, settings: Settings) -> None:
    """Clear the account's counts after a good sign-in, and take its attempt back from
    the address's (which keeps its other failures)."""
    connection = await session.connection()
    await connection.execute(delete(FAILURES).where(FAILURES.c.key.in_([keys.pair, keys.account])))
    await release(session, keys, [keys.address], settings)
