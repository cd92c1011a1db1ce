"""Login sessions: created at login, touched while used, removed at logout or expiry."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.callers import Caller, Login
from app.core.conditions.catalog import ToOne
from app.core.config import Settings
from app.core.database import utcnow
from app.core.security import hash_session_token, new_session_token
from app.core.tokens import Claims
from app.crud.base import CRUDBase
from app.crud.prepared import Prepared
from app.crud.related import RecordOf, joined
from app.models import LoginSession, PolicyState, User

TOUCH_EVERY = timedelta(seconds=60)


# Who is asking and which policy decides, in one Core statement built once (see `resolve`):
# plain rows, no ORM objects, since the request only reads them.
_SESSIONS = LoginSession.__table__
_USERS = User.__table__
# The `Caller` fields, and the stored policy revision.
_CALLER = (
    _USERS.c.id,
    _USERS.c.username,
    _USERS.c.full_name,
    _USERS.c.is_active,
    _USERS.c.time_zone,
)
_REVISION = (
    select(PolicyState.__table__.c.revision)
    .where(PolicyState.__table__.c.id == 1)
    .scalar_subquery()
)
RESOLVE = (
    select(_SESSIONS.c.id, _SESSIONS.c.expires_at, _SESSIONS.c.last_seen_at, *_CALLER, _REVISION)
    .select_from(_SESSIONS.join(_USERS, _USERS.c.id == _SESSIONS.c.user_id))
    .where(_SESSIONS.c.token_hash == bindparam("token_hash"))
)
RESOLVED = len(RESOLVE.selected_columns)  # a record asked for with it comes after these


PREPARED_RESOLVE = Prepared(RESOLVE)


@cache
def with_record(base: Select[Any], crud: CRUDBase[Any], hops: tuple[ToOne, ...] = ()) -> Prepared:
    """Return `base` (RESOLVE or BEARER) followed by the columns of one plain row of `crud`
    (by `:id`), NULL when there is no such record, then those of the record each of `hops`
    names (`joined`): built once per statement, crud object and hops."""
    source, columns = joined(crud.row_by_id.subquery("record"), hops)
    left = base.get_final_froms()[0]  # the one FROM of each base
    return Prepared(base.add_columns(*columns).select_from(left.outerjoin(source, true())))


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a cookie token resolved to (see `CRUDLoginSession.resolve`)."""

    login: Login | None
    wrote: bool  # the session row was touched or deleted
    revision: int  # the stored policy revision; -1 when no session row was found
    record: Any = None  # the plain row asked for with it, if any and found


# Who a bearer token names, whether it was issued before the user's tokens were revoked,
# and the policy revision: one statement, as for a cookie.
BEARER = select(*_CALLER, _USERS.c.tokens_not_before, _REVISION).where(
    _USERS.c.id == bindparam("user_id")
)
BEARER_READ = len(BEARER.selected_columns)
PREPARED_BEARER = Prepared(BEARER)

TOUCH = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)
END = delete(_SESSIONS).where(_SESSIONS.c.id == bindparam("session_id"))


class CRUDLoginSession(CRUDBase[LoginSession]):
    async def open(
        self,
        *,
        session: AsyncSession,
        user: User,
        settings: Settings,
        ip_address: str | None,
        user_agent: str | None,
    ) -> tuple[LoginSession, str]:
        """Start a new session for `user`; return it and the token for the cookie."""
        token = new_session_token()
        now = utcnow()
        row = LoginSession(
            token_hash=hash_session_token(token, settings.secret_key),
            user_id=user.id,
            expires_at=now + timedelta(hours=settings.session_absolute_hours),
            last_seen_at=now,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:500] or None,
            owner_user_id=user.id,
        )
        session.add(row)
        await session.flush()
        return row, token

    async def resolve(
        self,
        *,
        session: AsyncSession,
        token: str,
        settings: Settings,
        record_of: RecordOf | None = None,
    ) -> Resolved:
        """Resolve a cookie token: its live session (None when expired, then deleted).

        Also say whether the row was written (deleted, or touched at most once a minute)
        and the stored policy revision, read in the same statement as the session and its
        user: one round trip says who is asking and which policy decides. `record_of`
        the record it names comes in the same statement too.
        """
        token_hash = hash_session_token(token, settings.secret_key)
        values: dict[str, Any] = {"token_hash": token_hash}
        stmt = PREPARED_RESOLVE
        if record_of is not None:
            values["id"] = record_of.id
            stmt = with_record(RESOLVE, record_of.crud, record_of.hops)
        connection = await session.connection()
        found = await stmt.first(connection, values)
        if found is None:
            return Resolved(None, False, -1)
        id, expires_at, last_seen_at, *user, stored = found[:RESOLVED]
        record = None
        if record_of is not None:
            record = record_of.record(found[RESOLVED:])
        revision = stored or 0
        now = utcnow()
        if self.expired(expires_at, last_seen_at, now, settings):
            await connection.execute(END, {"session_id": id})
            return Resolved(None, True, revision)
        login = Login(id, token_hash, Caller(*user))
        if now - last_seen_at < TOUCH_EVERY:
            return Resolved(login, False, revision, record)
        await connection.execute(TOUCH, {"session_id": id, "now": now})
        return Resolved(login, True, revision, record)

    async def resolve_bearer(
        self, *, session: AsyncSession, claims: Claims, record_of: RecordOf | None = None
    ) -> Resolved:
        """Resolve a valid bearer token's claims: its user, unless the user's tokens were
        revoked after it was issued (or the user is gone). `record_of`: the record it names
        comes in the same statement too, as for a cookie."""
        values: dict[str, Any] = {"user_id": claims.user_id}
        stmt = PREPARED_BEARER
        if record_of is not None:
            values["id"] = record_of.id
            stmt = with_record(BEARER, record_of.crud, record_of.hops)
        found = await stmt.first(await session.connection(), values)
        if found is None:
            return Resolved(None, False, -1)
        *user, not_before, stored = found[:BEARER_READ]
        revision = stored or 0
        if not_before is not None and claims.issued_at < not_before.timestamp():
            return Resolved(None, False, revision)
        record = None if record_of is None else record_of.record(found[BEARER_READ:])
        return Resolved(Login(None, "", Caller(*user)), False, revision, record)

    async def end(self, *, session: AsyncSession, login: Login) -> None:
        """Delete the row of `login`: its cookie stops working."""
        await session.execute(END, {"session_id": login.id})

    @staticmethod
    def expired(
        expires_at: datetime, last_seen_at: datetime, now: datetime, settings: Settings
    ) -> bool:
        idle = timedelta(minutes=settings.session_idle_minutes)
        return expires_at <= now or last_seen_at + idle <= now

    async def purge_expired(self, *, session: AsyncSession, settings: Settings) -> int:
        """Delete every expired session row; return how many went."""
        now = utcnow()
        idle_cutoff = now - timedelta(minutes=settings.session_idle_minutes)
        result = await session.execute(
            delete(LoginSession).where(
                or_(LoginSession.expires_at <= now, LoginSession.last_seen_at <= idle_cutoff)
            )
        )
        return result.rowcount or 0

    @staticmethod
    def of_user(user_id: int) -> ColumnElement[bool]:
        """The filter of one user's sessions."""
        return LoginSession.user_id == user_id

    async def revoke(
        self,
        *,
        session: AsyncSession,
        where: ColumnElement[bool] | None,
        keep_id: int | None,
    ) -> int:
        """Delete the sessions matching `where`, except `keep_id`; return how many."""
        stmt = delete(LoginSession)
        if where is not None:
            stmt = stmt.where(where)
        if keep_id is not None:
            stmt = stmt.where(LoginSession.id != keep_id)
        result = await session.execute(stmt)
        return result.rowcount or 0


login_session = CRUDLoginSession(LoginSession)
