"""Permissions: looked up by their names (`model:action:scope`, `[condition]` when they
carry one), as the role matrix and the delegation check speak of them."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crud.base import CRUDBase, Named
from app.models import Permission


class CRUDPermission(CRUDBase[Permission]):
    async def create(
        self, *, session: AsyncSession, values: dict[str, Any], named: Named | None = None
    ) -> Permission:
        obj = await super().create(session=session, values=values, named=named)
        await session.refresh(obj, ["condition"])  # its name is read, not written
        return obj

    async def update(
        self,
        *,
        session: AsyncSession,
        db_obj: Permission,
        values: dict[str, Any],
        named: Named | None = None,
    ) -> Permission:
        obj = await super().update(session=session, db_obj=db_obj, values=values, named=named)
        await session.refresh(obj, ["condition"])
        return obj

    async def named(
        self, *, session: AsyncSession, names: Iterable[str], models: Iterable[str]
    ) -> list[Permission]:
        """Return the permissions of `models` whose name is in `names`."""
        wanted = set(names)
        rows = await session.scalars(select(Permission).where(Permission.model.in_(list(models))))
        return [row for row in rows if str(row) in wanted]

    async def names(self, *, session: AsyncSession, ids: Iterable[int]) -> set[str]:
        """Return the names of the permissions among `ids`."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        rows = await session.scalars(select(Permission).where(Permission.id.in_(wanted)))
        return {str(row) for row in rows}

    async def with_condition(self, *, session: AsyncSession, condition_id: int) -> list[str]:
        """Return the names of the permissions that carry the condition `condition_id`."""
        rows = await session.scalars(
            select(Permission)
            .where(Permission.condition_id == condition_id)
            .order_by(Permission.id)
        )
        return [str(row) for row in rows]


permission = CRUDPermission(Permission)
