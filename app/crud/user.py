"""Users: a user row is owned by itself; passwords arrive already hashed."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crud.base import CRUDBase
from app.models import LoginSession, User


class CRUDUser(CRUDBase[User]):
    async def get_by_login(self, *, session: AsyncSession, username: str) -> User | None:
        """Find a user by username, or by email written in any case."""
        if "@" in username:
            return await session.scalar(
                select(User)
                .where(func.lower(User.email) == username.lower())
                .options(*self.options)
            )
        return await session.scalar(
            select(User).where(func.lower(User.username) == username.lower()).options(*self.options)
        )

    async def clashes(
        self, *, session: AsyncSession, values: dict[str, Any], record: User | None = None
    ) -> Sequence[str]:
        """Unique keys as the base checks them, and the username in any case."""
        found = list(await super().clashes(session=session, values=values, record=record))
        username = values.get("username")
        if username is not None and "username" not in found:
            stmt = select(User.id).where(func.lower(User.username) == username.lower())
            if record is not None:
                stmt = stmt.where(User.id != record.id)
            if await session.scalar(stmt.limit(1)) is not None:
                found.append("username")
        return found

    async def create(self, *, session: AsyncSession, values: dict[str, Any]) -> User:
        values = dict(values)
        values.pop("owner_user_id", None)
        user = await super().create(session=session, values=values)
        user.owner_user_id = user.id
        await session.flush()
        return user

    async def update(self, *, session: AsyncSession, db_obj: User, values: dict[str, Any]) -> User:
        values = dict(values)
        values.pop("owner_user_id", None)
        if values.get("is_active") is False and db_obj.is_active:
            # Deactivating signs the user out everywhere: reactivating must not revive a login.
            await session.execute(delete(LoginSession).where(LoginSession.user_id == db_obj.id))
        return await super().update(session=session, db_obj=db_obj, values=values)


user = CRUDUser(User)
