"""The titles of the records a list's rows refer to, read by the list's own statement.

Each reference a list shows by name (a foreign key such as `project_id`, an owner, or a
many-to-many field such as `tag_ids`) becomes one more column of the page's statement: a
correlated subquery giving the referenced record's id and title fields, as a JSON array,
only when the viewer may read that record (the referenced table's own read scope, in SQL).
A record they may not read gives nothing, so the page never learns its title.
"""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, inspect, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from app.core.decisions import RowScope


@dataclass(frozen=True)
class Titled:
    """A reference a list shows by name: the list's column or many-to-many field, the model
    it names, the fields its title is made of, and the rows of that model the viewer may
    read (a scope with parameters of its own, see `RowScope.prefix`)."""

    column: str
    target: type[Any]
    fields: tuple[str, ...]
    scope: RowScope
    relation: str | None = None  # the relationship of a many-to-many field (`tags`)

    @property
    def shape(self) -> tuple[Any, ...]:
        """What a statement built with this reference is cached by."""
        return (self.column, self.target.__name__, self.fields, self.scope.shape, self.relation)


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


def title_column(model: Any, titled: Titled) -> ColumnElement[Any]:
    """The column of each row's referenced record(s), as `[id, *fields]` (a list of them
    for a many-to-many field), None or empty where the viewer may not read them."""
    target = aliased(titled.target)  # a users list naming users: never the outer row
    row = json_row(target.id, *(getattr(target, name) for name in titled.fields))
    readable = titled.scope.clause(target)
    if titled.relation is None:
        stmt = select(row).where(target.id == getattr(model, titled.column))
    else:
        relationship = inspect(model).relationships[titled.relation]
        ((parent_key, link_parent),) = relationship.synchronize_pairs
        ((_, link_related),) = relationship.secondary_synchronize_pairs
        stmt = (
            select(json_rows(row))
            .select_from(relationship.secondary)
            .join(target, target.id == link_related)
            .where(link_parent == parent_key)
        )
    if readable is not None:
        stmt = stmt.where(readable)
    return stmt.scalar_subquery().label(f"title_of_{titled.column}")


def read_titles(titled: Titled, value: Any) -> dict[int, list[Any]]:
    """The `[id, *fields]` arrays of one row's title column, by id."""
    if not value:
        return {}
    rows = value if titled.relation is not None else [value]
    return {int(row[0]): row[1:] for row in rows}
