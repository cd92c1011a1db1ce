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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, case, delete, or_, select, update
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


STATE = select(FAILURES.c.key, FAILURES.c.last_failed_at, FAILURES.c.blocked_until).where(
    FAILURES.c.key.in_(bindparam("keys", expanding=True))
)


async def _state(connection: AsyncConnection, keys: list[str], now: datetime) -> dict[str, Any]:
    """Return each key's last failure; raise `Throttled` when one of them is blocked now."""
    rows = (await connection.execute(STATE, {"keys": keys})).all()
    blocks = [row.blocked_until for row in rows if row.blocked_until and row.blocked_until > now]
    if blocks:
        raise Throttled(max(1, math.ceil((max(blocks) - now).total_seconds())))
    return {row.key: row.last_failed_at for row in rows}


def delay(failures: int, limit: int, settings: Settings) -> timedelta:
    """The block after the `failures`-th failure under a key whose limit is `limit`."""
    over = failures - limit
    seconds = settings.login_max_delay_seconds if over >= 20 else 2 ** (over + 1)
    return timedelta(seconds=min(seconds, settings.login_max_delay_seconds))


@dataclass(frozen=True)
class Attempt:
    """A sign-in counted before its password was checked: what `release` takes back if it
    was right. `counted`: the keys it counted under, with their counts; `previous`: their
    last failure before it (a key missing: its row is new); `blocked`: the blocks it set."""

    at: datetime
    counted: dict[str, int] = field(default_factory=dict)
    previous: dict[str, datetime] = field(default_factory=dict)
    blocked: dict[str, datetime] = field(default_factory=dict)


def in_lock_order(keys: Keys, names: Iterable[str]) -> list[str]:
    """The keys among `names` in the one order every statement locks them in (the account
    last, as `reserve` counts it last): two attempts at once never wait for each other."""
    return sorted(set(names), key=lambda name: (name == keys.account, name))


async def reserve(session: AsyncSession, keys: Keys, settings: Settings) -> Attempt:
    """Count an attempt as failed under each key before its password is checked, and
    block the keys it takes to their limit. Raise `Throttled` when a key is blocked (what
    was counted is then the caller's to roll back).

    The caller commits before checking the password, so the next attempt counts after
    this one. The account's own count grows only while the account at this address is
    within its limit: one address adds at most that many failures to it, however long it
    hammers.
    """
    now = utcnow()
    limits = keys.limits(settings)
    if not limits:
        return Attempt(now)
    connection = await session.connection()
    previous = await _state(connection, list(limits), now)  # blocked: refused, no write
    first = in_lock_order(keys, (key for key in limits if key != keys.account))
    counted = await _count(connection, first, now, settings) if first else {}
    refused = len(counted) < len(first)
    within = counted.get(keys.pair, 0) <= limits.get(keys.pair, 0)
    if not refused and keys.account in limits and within:
        account = await _count(connection, [keys.account], now, settings)
        refused = not account
        counted |= account
    if refused:  # a key was blocked meanwhile: say until when
        await _state(connection, list(limits), now)
        raise Throttled(1)
    blocked = {}
    for key in in_lock_order(keys, counted):
        if counted[key] >= limits[key]:
            blocked[key] = now + delay(counted[key], limits[key], settings)
            await connection.execute(
                update(FAILURES).where(FAILURES.c.key == key).values(blocked_until=blocked[key])
            )
    return Attempt(now, counted, previous, blocked)


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
    session: AsyncSession, keys: Keys, attempt: Attempt, only: Iterable[str] | None = None
) -> None:
    """Take a counted attempt back (it was right) from its keys (or those of `only`): one
    failure fewer, its last failure as it was, its blocks lifted (unless another attempt
    has moved them since); a row left with no failure goes."""
    connection = await session.connection()
    wanted = attempt.counted.keys() if only is None else set(only) & attempt.counted.keys()
    for key in in_lock_order(keys, wanted):
        last, until = FAILURES.c.last_failed_at, FAILURES.c.blocked_until
        before = attempt.previous.get(key)
        values: dict[str, Any] = {"failures": FAILURES.c.failures - 1}
        if before is not None:
            values["last_failed_at"] = case((last == attempt.at, before), else_=last)
        if key in attempt.blocked:
            values["blocked_until"] = case((until == attempt.blocked[key], None), else_=until)
        row = FAILURES.c.key == key
        await connection.execute(update(FAILURES).where(row).values(values))
        await connection.execute(delete(FAILURES).where(row, FAILURES.c.failures <= 0))


async def succeeded(session: AsyncSession, keys: Keys, attempt: Attempt) -> None:
    """Clear the account's counts after a good sign-in, and take its attempt back from
    the address's (which keeps its other failures); in the one lock order."""
    connection = await session.connection()
    for key in in_lock_order(keys, [keys.pair, keys.address, keys.account]):
        if key == keys.address:
            await release(session, keys, attempt, only=[key])
        else:
            await connection.execute(delete(FAILURES).where(FAILURES.c.key == key))
