"""Users: a user row is owned by itself; passwords arrive already hashed."""

from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import utcnow
from app.crud import audit
from app.crud.base import CRUDBase, Named
from app.models import Permission, User, role_permissions, user_roles

# What managing users and roles takes: reading and updating every user and role (role
# membership and a role's permissions are fields of those), and reading every permission
# (to grant it).
MANAGING = (
    ("user", "read", "all"),
    ("user", "update", "all"),
    ("role", "read", "all"),
    ("role", "update", "all"),
    ("permission", "read", "all"),
)
SOMEONE_MANAGES = (
    select(User.id)
    .join(user_roles, user_roles.c.user_id == User.id)
    .join(role_permissions, role_permissions.c.role_id == user_roles.c.role_id)
    .join(Permission, Permission.id == role_permissions.c.permission_id)
    .where(
        User.is_active,
        Permission.condition_id.is_(None),  # a condition's permission is narrower
        or_(
            *(
                and_(Permission.model == m, Permission.action == a, Permission.scope == s)
                for m, a, s in MANAGING
            )
        ),
    )
    .group_by(User.id)
    .having(func.count(func.distinct(Permission.id)) == len(MANAGING))
    .limit(1)
)


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

    async def create(
        self, *, session: AsyncSession, values: dict[str, Any], named: Named | None = None
    ) -> User:
        values = dict(values)
        values.pop("owner_user_id", None)
        user = await self._insert(session, values, named)
        user.owner_user_id = user.id
        await session.flush()
        await audit.created(session, user, audit.snapshot(user, self.relations))
        return user

    async def update(
        self,
        *,
        session: AsyncSession,
        db_obj: User,
        values: dict[str, Any],
        named: Named | None = None,
    ) -> User:
        values = dict(values)
        values.pop("owner_user_id", None)
        return await super().update(session=session, db_obj=db_obj, values=values, named=named)

    async def revoke_tokens(self, *, session: AsyncSession, user_id: int) -> None:
        """Refuse every bearer token issued to the user until now."""
        stmt = update(User).where(User.id == user_id).values(tokens_not_before=utcnow())
        await session.execute(stmt.execution_options(synchronize_session=False))

    async def someone_manages(self, *, session: AsyncSession) -> bool:
        """Whether some active user holds, through roles, all it takes to manage users and
        roles (`MANAGING`), as the tables say now (this transaction's changes included)."""
        return await session.scalar(SOMEONE_MANAGES) is not None


user = CRUDUser(User)
