"""The generic data layer: get, list, create, update, delete. It flushes, never commits."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    UniqueConstraint,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.core.database import Base
from app.core.errors import invalid_reference
from app.schemas.common import INT_MAX

ModelT = TypeVar("ModelT", bound=Base)


@dataclass(frozen=True)
class ListParams:
    """What a list request asks for, already validated against the resource."""

    limit: int = 50
    offset: int = 0
    sort: str | None = None
    q: str | None = None
    filters: tuple[tuple[str, Any], ...] = ()


class CRUDBase(Generic[ModelT]):
    """Common operations on one model; subclasses add only what differs."""

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model

    @cached_property
    def relations(self) -> dict[str, tuple[str, type[Base]]]:
        """Map each `<x>_ids` input field to its many-to-many relationship and model.

        Derived from the mapping: `Task.tags` is written as `tag_ids`.
        """
        return {
            f"{rel.key.removesuffix('s')}_ids": (rel.key, rel.mapper.class_)
            for rel in inspect(self.model).relationships
            if rel.secondary is not None
        }

    @cached_property
    def options(self) -> tuple[ExecutableOption, ...]:
        """Load what records show: relationships load lazily="raise_on_sql" otherwise."""
        return tuple(
            selectinload(getattr(self.model, attribute)) for attribute, _ in self.relations.values()
        )

    async def get(self, *, session: AsyncSession, id: int) -> ModelT | None:
        """Return the record with this id (None when missing or out of range)."""
        if not 1 <= id <= INT_MAX:
            return None
        obj = await session.get(self.model, id, options=self.options)
        if obj is not None:
            # Already in the identity map (the signed-in user, say): `get` skipped the options.
            unloaded = inspect(obj).unloaded
            missing = [name for name, _ in self.relations.values() if name in unloaded]
            if missing:
                await session.refresh(obj, missing)
        return obj

    async def get_by(self, *, session: AsyncSession, **where: Any) -> ModelT | None:
        """Return the one record whose columns equal `where`, if any."""
        return await session.scalar(select(self.model).filter_by(**where).options(*self.options))

    async def get_many(
        self, *, session: AsyncSession, ids: Sequence[int], field: str
    ) -> list[ModelT]:
        """Return the records with these ids, in id order; raise if any is missing."""
        return await get_many(session=session, model=self.model, ids=ids, field=field)

    async def titles(
        self, *, session: AsyncSession, where: ColumnElement[bool] | None, limit: int
    ) -> list[ModelT]:
        """Return up to `limit` records matching `where` in id order, for naming them in a
        picker: no total, and no related records loaded."""
        stmt = select(self.model) if where is None else select(self.model).where(where)
        return list(await session.scalars(stmt.order_by(self.model.id).limit(limit)))

    async def list(
        self,
        *,
        session: AsyncSession,
        where: ColumnElement[bool] | None,
        params: ListParams,
        search_columns: Sequence[str] = (),
    ) -> tuple[list[ModelT], int]:
        """Return one page of records matching `where`, and how many match in all."""
        stmt = self._matching(where, params, search_columns)
        total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = self._order(stmt, params.sort).limit(params.limit).offset(params.offset)
        return list(await session.scalars(stmt.options(*self.options))), total or 0

    def _matching(
        self, where: ColumnElement[bool] | None, params: ListParams, search_columns: Sequence[str]
    ) -> Select[Any]:
        """Return the query of the records matching `where`, the search and the filters."""
        stmt = select(self.model)
        if where is not None:
            stmt = stmt.where(where)
        stmt = self._search(stmt, params, search_columns)
        for name, value in params.filters:
            stmt = stmt.where(getattr(self.model, name) == value)
        return stmt

    def _search(self, stmt: Select[Any], params: ListParams, columns: Sequence[str]) -> Select[Any]:
        if not params.q or not columns:
            return stmt
        pattern = "%" + params.q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        pattern += "%"
        clauses = []
        for name in columns:
            column = getattr(self.model, name)
            if not isinstance(column.type, String | Text):
                column = func.cast(column, String)
            clauses.append(column.ilike(pattern, escape="\\"))
        return stmt.where(or_(*clauses))

    def _order(self, stmt: Select[Any], sort: str | None) -> Select[Any]:
        if not sort:
            return stmt.order_by(self.model.id)
        column = getattr(self.model, sort.removeprefix("-"))
        ordered = column.desc() if sort.startswith("-") else column.asc()
        return stmt.order_by(ordered, self.model.id)

    async def create(self, *, session: AsyncSession, values: dict[str, Any]) -> ModelT:
        values = {field: [] for field in self.relations} | values
        values = await self._resolve_relations(session, values)
        obj = self.model(**values)
        session.add(obj)
        await session.flush()
        return obj

    async def update(
        self, *, session: AsyncSession, db_obj: ModelT, values: dict[str, Any]
    ) -> ModelT:
        values = await self._resolve_relations(session, values)
        for name, value in values.items():
            setattr(db_obj, name, value)
        await session.flush()
        return db_obj

    async def _resolve_relations(
        self, session: AsyncSession, values: dict[str, Any]
    ) -> dict[str, Any]:
        """Replace `<x>_ids` lists with the related objects they name."""
        resolved = dict(values)
        for field, (attribute, related) in self.relations.items():
            if field in resolved:
                ids = resolved.pop(field) or []
                resolved[attribute] = await get_many(
                    session=session, model=related, ids=ids, field=field
                )
        return resolved

    async def clashes(
        self, *, session: AsyncSession, values: dict[str, Any], record: ModelT | None = None
    ) -> Sequence[str]:
        """Return the fields of each unique key whose new values another row already holds.

        The whole key is named, whichever of its fields the write sent: the API and the
        pages, which send different fields for the same change, name the same ones.
        """
        found: list[str] = []
        for constraint in self.model.__table__.constraints:
            if not isinstance(constraint, UniqueConstraint):
                continue
            names = [column.name for column in constraint.columns]
            if not any(name in values for name in names):
                continue
            wanted = {name: values.get(name, getattr(record, name, None)) for name in names}
            stmt = select(self.model.id).filter_by(**wanted)
            if record is not None:
                stmt = stmt.where(self.model.id != record.id)
            if await session.scalar(stmt.limit(1)) is not None:
                found.extend(names)
        return found

    async def delete(self, *, session: AsyncSession, db_obj: ModelT) -> None:
        await session.delete(db_obj)
        await session.flush()


async def get_many(
    *, session: AsyncSession, model: type[ModelT], ids: Sequence[int], field: str
) -> list[ModelT]:
    """Return the rows of `model` with these ids, in id order; raise if any is missing."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    if wanted[0] < 1 or wanted[-1] > INT_MAX:
        raise invalid_reference(field, [i for i in wanted if not 1 <= i <= INT_MAX])
    rows = await session.scalars(select(model).where(model.id.in_(wanted)).order_by(model.id))
    found = list(rows)
    if len(found) != len(wanted):
        have = {row.id for row in found}
        raise invalid_reference(field, [i for i in wanted if i not in have])
    return found


async def count_each(
    *, session: AsyncSession, queries: Sequence[tuple[type[Base], ColumnElement[bool] | None]]
) -> list[int]:
    """Return how many rows of each model match its filter (None: all), in one statement."""
    if not queries:
        return []
    counts = []
    for model, where in queries:
        count = select(func.count()).select_from(model)
        counts.append((count if where is None else count.where(where)).scalar_subquery())
    row = (await session.execute(select(*counts))).one()
    return [int(value) for value in row]
