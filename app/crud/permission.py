"""Permissions: looked up by their `model:action:scope` names (the role matrix)."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crud.base import CRUDBase
from app.models import Permission


class CRUDPermission(CRUDBase[Permission]):
    async def named(
        self, *, session: AsyncSession, names: Iterable[str], models: Iterable[str]
    ) -> list[Permission]:
        """Return the permissions of `models` whose `model:action:scope` is in `names`."""
        wanted = set(names)
        rows = await session.scalars(select(Permission).where(Permission.model.in_(list(models))))
        return [row for row in rows if str(row) in wanted]

    async def names(self, *, session: AsyncSession, ids: Iterable[int]) -> set[str]:
        """Return the `model:action:scope` of the permissions among `ids`."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        rows = await session.scalars(select(Permission).where(Permission.id.in_(wanted)))
        return {str(row) for row in rows}


permission = CRUDPermission(Permission)
