"""Roles: who holds one, and what each holder may do through all their roles."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.permissions import permission_name
from app.crud.base import CRUDBase
from app.models import Permission, Role, User, role_permissions, user_groups, user_roles

# What a permission's name is made of, in a statement: its parts and its condition's name.
NAME_PARTS = (Permission.model, Permission.action, Permission.scope, Permission.condition)


@dataclass(frozen=True)
class Holder:
    """A user, by id and name, with every permission their roles give, by name
    (`model:action:scope`, `[condition]` when it carries one)."""

    id: int
    username: str
    permissions: frozenset[str]


class CRUDRole(CRUDBase[Role]):
    async def granted(self, *, session: AsyncSession, role_ids: Iterable[int]) -> set[str]:
        """Return the name of every permission the roles `role_ids` give, together."""
        wanted = sorted(set(role_ids))
        if not wanted:
            return set()
        rows = await session.execute(
            select(*NAME_PARTS)
            .join(role_permissions, role_permissions.c.permission_id == Permission.id)
            .where(role_permissions.c.role_id.in_(wanted))
        )
        return {permission_name(*parts) for parts in rows}

    async def member_groups(self, *, session: AsyncSession, role_ids: Iterable[int]) -> set[int]:
        """Return the groups of every user holding one of the roles `role_ids`."""
        wanted = sorted(set(role_ids))
        if not wanted:
            return set()
        rows = await session.scalars(
            select(user_groups.c.group_id)
            .join(user_roles, user_roles.c.user_id == user_groups.c.user_id)
            .where(user_roles.c.role_id.in_(wanted))
            .distinct()
        )
        return set(rows)

    async def holding(self, *, session: AsyncSession, permission_id: int) -> list[int]:
        """Return the roles that hold the permission `permission_id`."""
        rows = await session.scalars(
            select(role_permissions.c.role_id).where(
                role_permissions.c.permission_id == permission_id
            )
        )
        return list(rows)

    async def holders(self, *, session: AsyncSession, record: Role) -> dict[int, Holder]:
        """Return the role's members by id, each with the permissions of all their roles,
        as the tables say now (this transaction's changes included)."""
        members = select(user_roles.c.user_id).where(user_roles.c.role_id == record.id)
        rows = await session.execute(
            select(User.id, User.username, *NAME_PARTS)
            .join(user_roles, user_roles.c.user_id == User.id)
            .outerjoin(role_permissions, role_permissions.c.role_id == user_roles.c.role_id)
            .outerjoin(Permission, Permission.id == role_permissions.c.permission_id)
            .where(User.id.in_(members))
        )
        found: dict[int, tuple[str, set[str]]] = {}
        for user_id, username, *permission in rows:
            _, granted = found.setdefault(user_id, (username, set()))
            if permission[0] is not None:  # a role without permissions
                granted.add(permission_name(*permission))
        return {
            user_id: Holder(user_id, username, frozenset(granted))
            for user_id, (username, granted) in found.items()
        }


role = CRUDRole(Role)
