"""The titles of records a page offers by name (a list's filters, whose choices name its
rows' references too): each table's records the viewer may read (that table's own read
scope, in SQL), as JSON arrays `[id, *title fields]`, every table in one statement.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from app.core.decisions import RowScope
from app.crud.rows import column_of


@dataclass(frozen=True)
class Titled:
    """Records to name: their model, the fields their title is made of, and the rows of
    that model the viewer may read (a scope with parameters of its own, `RowScope.prefix`)."""

    target: type[Any]
    fields: tuple[str, ...]
    scope: RowScope

    @property
    def shape(self) -> tuple[Any, ...]:
        """What a statement built with these is cached by."""
        return (self.target.__name__, self.fields, self.scope.shape)


class JSONValue(TypeDecorator[Any]):
    """JSON built by the database: text on SQLite, already decoded on PostgreSQL."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class json_row(FunctionElement[Any]):
    """A JSON array of its arguments."""

    type = JSONValue()
    inherit_cache = True


class json_rows(FunctionElement[Any]):
    """The JSON array of its argument over the rows of an aggregate."""

    type = JSONValue()
    inherit_cache = True


def _calling(name: str) -> Any:
    def compile_call(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
        return f"{name}({compiler.process(element.clauses, **kw)})"

    return compile_call


# Each function by its name on PostgreSQL, then on SQLite.
for _element, _postgresql, _sqlite in (
    (json_row, "json_build_array", "json_array"),
    (json_rows, "json_agg", "json_group_array"),
):
    compiles(_element, "postgresql")(_calling(_postgresql))
    compiles(_element)(_calling(_sqlite))


# The statements reading several tables' choices at once, one per shape of request.
_CHOICES: dict[tuple[Any, ...], Any] = {}


async def read_choices(session: Any, wanted: Sequence[Titled], limit: int) -> list[list[list[Any]]]:
    """Up to `limit` rows `[id, *fields]` of each `wanted` table the viewer may read (its
    `scope`), in id order: one statement for them all, built once per shape."""
    if not wanted:
        return []
    key = (limit, tuple(item.shape for item in wanted))
    stmt = _CHOICES.get(key)
    if stmt is None:
        columns = []
        for number, item in enumerate(wanted):
            table = item.target.__table__
            rows = select(table.c.id, *(column_of(item.target, name) for name in item.fields))
            readable = item.scope.clause(table)
            if readable is not None:
                rows = rows.where(readable)
            picked = rows.order_by(table.c.id).limit(limit).subquery(f"choices{number}")
            row = json_row(*picked.c)
            columns.append(select(json_rows(row)).select_from(picked).scalar_subquery())
        stmt = _CHOICES.setdefault(key, select(*columns))
    values = {name: value for item in wanted for name, value in item.scope.values}
    found = (await session.execute(stmt, values)).one()
    return [sorted(rows or (), key=lambda row: row[0]) for rows in found]
