"""What a condition reads of a record beyond its own columns, loaded before it is decided:
the records its to-one relations name, the rows of its to-many ones, and what `can()` reads
of the records it asks about (`Needs`, `app/core/conditions/evaluate.py`)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import FromClause, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.conditions.catalog import ToMany, ToOne
from app.core.conditions.checker import catalog
from app.core.conditions.evaluate import Needs, View
from app.crud.base import CRUDBase
from app.crud.prepared import Prepared

# What a decision on a record of <model> for <action> reads of it: (model, action) -> Needs.
MoreNeeds = Callable[[str, str], Needs]


@dataclass(frozen=True, slots=True)
class RecordOf:
    """A record read by id in the statement that resolves the caller: its crud object, its
    permission model, and the records its to-one relations `hops` name, read with it (what
    the conditions of the policy read of it: `PolicyFacts.related`)."""

    crud: CRUDBase[Any]
    id: int
    model: str
    hops: tuple[ToOne, ...] = ()

    def record(self, columns: Sequence[Any]) -> Any:
        """The record from the columns a statement `joined` them for ends with: its plain
        row (None: no such record), or with `hops`, a condition view of it and of them."""
        width = len(self.crud.row_columns)
        if columns[0] is None:
            return None
        row = self.crud.row_type._make(columns[:width])  # type: ignore[attr-defined]
        if not self.hops:
            return row
        view = View(self.model, row)
        for hop in self.hops:
            names = _columns(hop.model)
            values = columns[width : width + len(names)]
            width += len(names)
            found = dict(zip(names, values, strict=True))
            view.ones[hop.name] = None if found["id"] is None else View(hop.model, found)
        return view


def joined(record: FromClause, hops: Sequence[ToOne]) -> tuple[FromClause, list[Any]]:
    """`record` left-joined by id to the record each of `hops` names, and the columns to
    read: the record's, then each hop's (NULL when it names none)."""
    source, columns = record, list(record.c)
    for hop in hops:
        table = catalog().entity(hop.model).table.alias(f"one_{hop.name}")
        source = source.outerjoin(table, table.c.id == record.c[hop.key])
        columns += table.c
    return source, columns


async def load_view(
    session: AsyncSession, model: str, record: Any, needs: Needs, more: MoreNeeds
) -> View:
    """The record as conditions see it, with everything `needs` reads of it loaded."""
    view = record if isinstance(record, View) else View(model, record)
    await _fill(session, view, needs, more)
    return view


async def _fill(session: AsyncSession, view: View, needs: Needs, more: MoreNeeds) -> None:
    wanted = Needs()
    wanted.merge(needs)
    for action, target in needs.permits:  # `can()` decides on this record: what that reads
        wanted.merge(more(target, action))
    entity = catalog().entity(view.model)
    for name, sub in wanted.ones.items():
        if name in view.ones:  # read with the record (`RecordOf`), or by an earlier decision
            found = view.ones[name]
        else:
            hop = entity.ones[name]
            key = view.get(hop.key)
            found = None
            if key is not None:
                row = await _by_id(hop.model).first(await session.connection(), {"id": key})
                if row is not None:
                    found = View(hop.model, dict(zip(_columns(hop.model), row, strict=True)))
            view.ones[name] = found
        if found is not None:
            await _fill(session, found, sub, more)
    for name, sub in wanted.manys.items():
        rows = view.manys.get(name)
        if rows is None:
            many = entity.manys[name]
            rows = view.manys[name] = [
                View(many.model, row) for row in await _rows(session, view, many)
            ]
        for row in rows:
            await _fill(session, row, sub, more)


@cache
def _by_id(model: str) -> Prepared:
    """The statement reading one row of `model` by id: prepared once (a read by id whose
    condition names a related record runs it per request)."""
    table = catalog().entity(model).table
    return Prepared(select(table).where(table.c.id == bindparam("id")))


@cache
def _columns(model: str) -> list[str]:
    return [column.name for column in catalog().entity(model).table.columns]


async def _rows(session: AsyncSession, view: View, many: ToMany) -> list[dict[str, Any]]:
    """The rows of a to-many relation: those naming the record (none for a record not yet
    stored), or through a link, those a write names (`tag_ids`) or the link holds."""
    table = catalog().entity(many.model).table
    record_id = view.get("id")
    if many.link is not None:
        field = f"{many.name.removesuffix('s')}_ids"
        named = view.record.get(field) if isinstance(view.record, Mapping) else None
        if named is not None:
            ids = list(named)
        elif record_id is None:
            return []
        else:
            link = many.link
            ids = list(
                await session.scalars(select(link.c[many.far]).where(link.c[many.key] == record_id))
            )
        if not ids:
            return []
        statement = select(table).where(table.c.id.in_(ids))
    elif record_id is None:
        return []
    else:
        statement = select(table).where(table.c[many.key] == record_id)
    result = await session.execute(statement.order_by(table.c.id))
    return [dict(row._mapping) for row in result]
