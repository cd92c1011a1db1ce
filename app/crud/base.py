"""The generic data layer: get, list, create, update, delete. It flushes, never commits."""

from collections import namedtuple
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Column,
    ColumnElement,
    Select,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.visitors import iterate, replacement_traverse

from app.core.constraints import is_reference, referring_table
from app.core.database import Base
from app.core.decisions import OWNER_GROUP, OWNER_USER
from app.core.errors import invalid_reference
from app.core.lists import COUNT_CAP
from app.core.numbers import INT_MAX
from app.crud import audit
from app.crud.paging import ListMixin
from app.crud.policy_scope import POLICY_ATTRIBUTES, touch_policy
from app.crud.referrers import RestrictMixin, StillReferred
from app.crud.rows import column_of, row_columns
from app.models.base import link_fields

ModelT = TypeVar("ModelT", bound=Base)


# A table's unique keys: the fields of each, and what it compares of them.
UniqueKeys = list[tuple[list[str], list[ColumnElement[Any]]]]


# The records some input fields name, read already: field -> its records, in id order.
Named = dict[str, list[Any]]


class RecordGone(Exception):
    """The record was deleted by another request while this one was changing it."""


class CRUDBase(ListMixin, RestrictMixin, Generic[ModelT]):
    """Common operations on one model; subclasses add only what differs."""

    def __init__(self, model: type[ModelT]) -> None:
        self.model = model
        self._statements: dict[tuple[Any, ...], Select[Any]] = {}

    @cached_property
    def relations(self) -> dict[str, tuple[str, type[Base]]]:
        """Map each `<x>_ids` input field to its many-to-many relationship and model.

        Derived from the mapping: `Task.tags` is written as `tag_ids`.
        """
        return {
            field: (rel.key, rel.mapper.class_) for field, rel in link_fields(self.model).items()
        }

    @cached_property
    def options(self) -> tuple[ExecutableOption, ...]:
        """Load what records show: relationships load lazily="raise_on_sql" otherwise."""
        return tuple(
            selectinload(getattr(self.model, attribute)) for attribute, _ in self.relations.values()
        )

    @cached_property
    def one_options(self) -> tuple[ExecutableOption, ...]:
        """Load what one record shows in the statement that reads it (a join per relation)."""
        return tuple(
            joinedload(getattr(self.model, attribute)) for attribute, _ in self.relations.values()
        )

    @cached_property
    def row_columns(self) -> list[ColumnElement[Any]]:
        """The columns of a plain-row read: the table's, then the ids of each relation."""
        return row_columns(
            self.model, {field: attribute for field, (attribute, _) in self.relations.items()}
        )

    @cached_property
    def row_by_id(self) -> Select[Any]:
        """The statement reading one plain row by `:id`."""
        return select(*self.row_columns).where(self.model.__table__.c.id == bindparam("id"))

    @cached_property
    def row_type(self) -> type[tuple[Any, ...]]:
        """The type of a plain row: a named tuple of `row_columns` (its fields read faster than
        a result row's, and it comes apart from a longer result row)."""
        names = [column.key for column in self.row_columns]
        return namedtuple(f"{self.model.__name__}Row", names)  # type: ignore[return-value]

    async def read(self, *, session: AsyncSession, id: int) -> Any:
        """Return the record with this id as a plain row (None when missing)."""
        if not 1 <= id <= INT_MAX:
            return None
        connection = await session.connection()
        row = (await connection.execute(self.row_by_id, {"id": id})).first()
        return None if row is None else self.row_type._make(row)  # type: ignore[attr-defined]

    @cached_property
    def _by_id(self) -> Select[tuple[ModelT]]:
        """The statement reading one record by id, built once: building a statement and its
        cache key on every request cost more than executing it."""
        stmt = select(self.model).where(self.model.id == bindparam("id"))
        return stmt.options(*self.one_options)

    async def get(self, *, session: AsyncSession, id: int) -> ModelT | None:
        """Return the record with this id (None when missing or out of range)."""
        if not 1 <= id <= INT_MAX:
            return None
        found = await session.execute(self._by_id, {"id": id})
        obj = found.unique().scalar_one_or_none()
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

    async def among(self, *, session: AsyncSession, ids: Sequence[int]) -> list[ModelT]:
        """Return the records among `ids` that exist, in id order: to act on each."""
        wanted = sorted({row_id for row_id in ids if 1 <= row_id <= INT_MAX})
        stmt = select(self.model).where(self.model.id.in_(wanted)).order_by(self.model.id)
        return list(await session.scalars(stmt))

    async def title_rows(
        self,
        *,
        session: AsyncSession,
        fields: Sequence[str],
        where: ColumnElement[bool] | None,
        limit: int,
        ids: Sequence[int] | None = None,
    ) -> list[Any]:
        """Return up to `limit` records matching `where` (and among `ids`, when given) in id
        order, for naming them in a picker or a page: plain rows of their id, `fields` and
        owner columns (what a title and a decision read), no ORM objects."""
        table = self.model.__table__
        names = dict.fromkeys(("id", *fields, OWNER_USER, OWNER_GROUP))
        columns = [column_of(self.model, name) for name in names]
        stmt = select(*(column for column in columns if column is not None))
        if where is not None:
            stmt = stmt.where(where)
        if ids is not None:
            stmt = stmt.where(table.c.id.in_(ids))
        return list(await session.execute(stmt.order_by(table.c.id).limit(limit)))

    async def ids_linked_to(self, *, session: AsyncSession, field: str, id: int) -> list[int]:
        """Return, in id order, the records whose many-to-many `field` (`role_ids`) holds
        `id`: a role's users, say."""
        attribute, _ = self.relations[field]
        link = getattr(self.model, attribute)
        stmt = select(self.model.id).where(link.any(id=id)).order_by(self.model.id)
        return list(await session.scalars(stmt))

    async def create(
        self, *, session: AsyncSession, values: dict[str, Any], named: Named | None = None
    ) -> ModelT:
        """Insert a record (and its links); the audit log records it. `named`: the records
        some `<x>_ids` fields name, read already (by the write's checks)."""
        obj = await self._insert(session, values, named)
        await audit.created(session, obj, audit.snapshot(obj, self.relations))
        return obj

    async def _insert(
        self, session: AsyncSession, values: dict[str, Any], named: Named | None = None
    ) -> ModelT:
        values = {field: [] for field in self.relations} | values
        values = await self._resolve_relations(session, values, named)
        obj = self.model(**values)
        session.add(obj)
        await session.flush()
        return obj

    async def update(
        self,
        *,
        session: AsyncSession,
        db_obj: ModelT,
        values: dict[str, Any],
        named: Named | None = None,
    ) -> ModelT:
        """Change `db_obj`; raise `RecordGone` when another request deleted it meanwhile.

        A change of a many-to-many field (`tag_ids`) first locks the record and re-reads
        its links: concurrent updates of one record then apply one after the other, each to
        the links the one before left (never a clash or a stale delete of a link).
        """
        if self.relations.keys() & values.keys():
            if not await self.lock(session=session, id=db_obj.id):  # type: ignore[attr-defined]
                raise RecordGone
            loaded = [name for name, _ in self.relations.values()]
            await session.refresh(db_obj, loaded)
        before = audit.snapshot(db_obj, self.relations)
        values = await self._resolve_relations(session, values, named)
        for name, value in values.items():
            setattr(db_obj, name, value)
        await session.flush()
        await audit.updated(session, db_obj, before, audit.snapshot(db_obj, self.relations))
        return db_obj

    async def lock(self, *, session: AsyncSession, id: int) -> bool:
        """Hold the record's row for this transaction (a no-op update, which locks it on
        PostgreSQL and takes SQLite's write lock); False when there is no such row."""
        table = self.model.__table__
        kept = {column.name: column for column in table.c if column.onupdate is not None}
        stmt = update(table).where(table.c.id == id).values(id=table.c.id, **kept)
        result = await session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _resolve_relations(
        self, session: AsyncSession, values: dict[str, Any], named: Named | None = None
    ) -> dict[str, Any]:
        """Replace `<x>_ids` lists with the related objects they name (those in `named`
        as they were read there)."""
        resolved = dict(values)
        for field, (attribute, related) in self.relations.items():
            if field in resolved:
                ids = resolved.pop(field) or []
                rows = (named or {}).get(field)
                if rows is None or sorted(set(ids)) != [row.id for row in rows]:
                    rows = await get_many(session=session, model=related, ids=ids, field=field)
                resolved[attribute] = rows
        return resolved

    @cached_property
    def unique_keys(self) -> "UniqueKeys":
        """Each unique key of the table: its fields, and what it compares of them (the
        columns, or expressions over them: `lower(username)` for a key in any case).

        A key over expressions makes the plain key over the same columns redundant (a name
        taken in any case is taken exactly too): that one is not asked again.
        """
        table = self.model.__table__
        keys: list[tuple[list[str], list[ColumnElement[Any]]]] = []
        for index in table.indexes:
            if index.unique and not all(isinstance(e, Column) for e in index.expressions):
                names = [
                    c.name for e in index.expressions for c in iterate(e) if isinstance(c, Column)
                ]
                keys.append((names, list(index.expressions)))
        covered = [set(names) for names, _ in keys]
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                names = [column.name for column in constraint.columns]
                if set(names) not in covered:
                    keys.append((names, list(constraint.columns)))
        return keys

    async def clashes(
        self, *, session: AsyncSession, values: dict[str, Any], record: ModelT | None = None
    ) -> Sequence[str]:
        """Return the fields of each unique key whose new values another row already holds.

        The whole key is named, whichever of its fields the write sent: the API and the
        pages, which send different fields for the same change, name the same ones.
        """
        found: list[str] = []
        for names, compared in self.unique_keys:
            if not any(name in values for name in names):
                continue
            wanted = {name: values.get(name, getattr(record, name, None)) for name in names}
            stmt = select(self.model.id).where(
                *(expression == _with_values(expression, wanted) for expression in compared)
            )
            if record is not None:
                stmt = stmt.where(self.model.id != record.id)
            if await session.scalar(stmt.limit(1)) is not None:
                found.extend(names)
        return found

    async def delete(self, *, session: AsyncSession, db_obj: ModelT) -> bool:
        """Delete the record by one statement (its links and dependants go by the database's
        cascades); False when another request deleted it first, so one of several
        concurrent deletes reports success."""
        table = self.model.__table__
        refused = await self.referrers(session=session, id=db_obj.id)  # type: ignore[attr-defined]
        if refused is not None:
            raise refused
        before = audit.snapshot(db_obj, self.relations)
        try:
            result = await session.execute(delete(table).where(table.c.id == db_obj.id))  # type: ignore[attr-defined]
        except IntegrityError as exc:  # a key the models do not know, or a row added meanwhile
            if not is_reference(exc):
                raise
            found = referring_table(exc)
            raise StillReferred([(found, None)] if found else []) from None
        if type(db_obj) in POLICY_ATTRIBUTES:
            touch_policy(session, db_obj)
        if db_obj in session:
            session.expunge(db_obj)
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        await audit.deleted(session, db_obj, before)
        return True


def _with_values(expression: ColumnElement[Any], values: dict[str, Any]) -> Any:
    """`expression` over the values a write would store instead of its columns (a bare
    column: the value itself, so that None compares as IS NULL)."""
    if isinstance(expression, Column):
        return values[expression.name]
    return replacement_traverse(
        expression,
        {},
        lambda element: literal(values[element.name]) if isinstance(element, Column) else None,
    )


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
    """Return how many rows of each model match its filter (None: all), in one statement,
    counting no further than `COUNT_CAP + 1` (more than the cap means "over the cap")."""
    if not queries:
        return []
    counts = []
    for model, where in queries:
        rows = select(literal(1)).select_from(model)
        rows = (rows if where is None else rows.where(where)).limit(COUNT_CAP + 1)
        counts.append(select(func.count()).select_from(rows.subquery()).scalar_subquery())
    row = (await session.execute(select(*counts))).one()
    return [int(value) for value in row]
