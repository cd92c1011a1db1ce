"""Login sessions: created at login, touched while used, removed at logout or expiry."""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.core.config import Settings
from app.core.database import utcnow
from app.core.security import hash_session_token, new_session_token
from app.crud.base import CRUDBase
from app.models import LoginSession, PolicyState, User

TOUCH_EVERY = timedelta(seconds=60)

# Who is asking and which policy decides, in one statement built once (see `resolve`).
RESOLVE = (
    select(
        LoginSession,
        select(PolicyState.revision).where(PolicyState.id == 1).scalar_subquery(),
    )
    .where(LoginSession.token_hash == bindparam("token_hash"))
    .options(joinedload(LoginSession.user))
)


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
            ip_address=(ip_address or "")[:45] or None,
            user_agent=(user_agent or "")[:500] or None,
            owner_user_id=user.id,
        )
        session.add(row)
        await session.flush()
        return row, token

    async def resolve(
        self, *, session: AsyncSession, token: str, settings: Settings
    ) -> tuple[LoginSession | None, bool, int]:
        """Return the live session for a cookie token (None when expired, then deleted).

        Also return whether the row was written (deleted, or touched at most once a minute)
        and the stored policy revision, read in the same statement as the session and its
        user: one round trip says who is asking and which policy decides.
        """
        token_hash = hash_session_token(token, settings.secret_key)
        found = (await session.execute(RESOLVE, {"token_hash": token_hash})).first()
        if found is None:
            return None, False, -1
        row, stored = found
        revision = stored or 0
        now = utcnow()
        if self.expired(row, now, settings):
            await session.delete(row)
            await session.flush()
            return None, True, revision
        if now - row.last_seen_at < TOUCH_EVERY:
            return row, False, revision
        row.last_seen_at = now
        await session.flush()
        return row, True, revision

    @staticmethod
    def expired(row: LoginSession, now: datetime, settings: Settings) -> bool:
        idle = timedelta(minutes=settings.session_idle_minutes)
        return row.expires_at <= now or row.last_seen_at + idle <= now

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
