"""Deletes refused while other rows still refer to the record: the foreign keys of other
tables that keep it (`ON DELETE RESTRICT`), and the rows of each that still do."""

from functools import cached_property
from typing import Any

from sqlalchemy import Column, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import Base

NAMED_REFERRERS = 10  # the most rows still referring to a record a refused delete names


class StillReferred(Exception):
    """A delete refused: other rows still refer to the record through a foreign key that
    keeps it (no `ON DELETE` action). `referrers`: (table, how many rows) where known;
    `examples`: the ids of the first of them (`NAMED_REFERRERS`), by table, where known."""

    def __init__(
        self,
        referrers: list[tuple[str, int | None]],
        examples: dict[str, list[int]] | None = None,
    ) -> None:
        self.referrers = referrers
        self.examples = examples or {}
        super().__init__(", ".join(table for table, _ in referrers) or "other rows")


class RestrictMixin:
    """The foreign keys that keep a model's records, and the rows that use them."""

    model: type[Any]

    @cached_property
    def restricting(self) -> list[tuple[Any, Column[Any]]]:
        """The (table, column) of every foreign key of another table to this one declared
        `ON DELETE RESTRICT`: a record they refer to is kept, whatever else the delete
        cascades to. (A key with no action is checked by the database at the end of the
        statement, after the cascades: its refusal is translated instead.)"""
        mine = self.model.__table__
        return [
            (table, key.parent)
            for table in Base.metadata.tables.values()
            if table is not mine
            for key in table.foreign_keys
            if key.column.table is mine and (key.ondelete or "").upper() == "RESTRICT"
        ]

    async def referrers(self, *, session: AsyncSession, id: int) -> StillReferred | None:
        """The refusal of a delete of record `id` while rows of other tables refer to it
        through a key that keeps it: how many of each table (one count per such key), and
        the ids of the first; None when none does (or the models declare no such key)."""
        found: list[tuple[str, int | None]] = []
        examples: dict[str, list[int]] = {}
        for table, column in self.restricting:
            count = await session.scalar(select(func.count()).where(column == id))
            if count:
                found.append((table.name, count))
                if "id" in table.c:  # a link table's rows have no id to name them by
                    first = select(table.c.id).where(column == id).order_by(table.c.id)
                    ids = await session.scalars(first.limit(NAMED_REFERRERS))
                    examples.setdefault(table.name, []).extend(ids)
        return StillReferred(found, examples) if found else None
