"""Records read as plain rows: a table's columns plus the ids of its many-to-many relations.

What a read shows needs no ORM object (no identity map, no instance state, no relationship
loading): one statement returns each row with its related ids aggregated in a column, on
PostgreSQL as an array and on SQLite as a JSON array, both read back as a list of ints.
"""

import json
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, Text, inspect, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator


class IdList(TypeDecorator[list[int]]):
    """A list of ids as a database returns an aggregate: an array, or JSON text on SQLite."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> list[int]:
        if value is None:
            return []
        return json.loads(value) if isinstance(value, str) else list(value)


class related_ids(FunctionElement[list[int]]):
    """The ids a row's many-to-many link names, in id order, as one value (`IdList`)."""

    type = IdList()
    inherit_cache = True


@compiles(related_ids, "postgresql")
def _postgresql(element: related_ids, compiler: SQLCompiler, **kw: Any) -> str:
    (subquery,) = element.clauses
    return f"ARRAY({compiler.process(subquery.element, **kw)})"


@compiles(related_ids)
def _json_array(element: related_ids, compiler: SQLCompiler, **kw: Any) -> str:
    (subquery,) = element.clauses
    inner = compiler.process(subquery.element, **kw)
    return f"(SELECT json_group_array(related_id) FROM ({inner}))"


def id_column(relationship: RelationshipProperty[Any], label: str) -> ColumnElement[list[int]]:
    """Return the column of the ids `relationship` (many-to-many) names for each row."""
    ((parent_key, link_parent),) = relationship.synchronize_pairs
    ((_, link_related),) = relationship.secondary_synchronize_pairs
    ids = (
        select(link_related.label("related_id"))
        .where(link_parent == parent_key)
        .order_by(link_related)
        .scalar_subquery()
    )
    return related_ids(ids).label(label)


def row_columns(model: Any, relations: dict[str, str]) -> list[ColumnElement[Any]]:
    """Return the columns of a plain-row read of `model`: its table's, the values its
    mapping reads beside them (a permission's condition's name), then each relation's ids
    labelled with its field (`tag_ids`)."""
    mapper = inspect(model)
    columns: list[ColumnElement[Any]] = list(mapper.local_table.c)
    columns += [getattr(model, key).expression.label(key) for key in read_beside(model)]
    for field, attribute in relations.items():
        columns.append(id_column(mapper.relationships[attribute], field))
    return columns


def read_beside(model: Any) -> list[str]:
    """The mapped attributes of `model` that are SQL expressions rather than its table's
    columns (`column_property`): read with its rows, never written."""
    table = inspect(model).local_table
    return [
        prop.key
        for prop in inspect(model).column_attrs
        if not any(column.table is table for column in prop.columns if isinstance(column, Column))
    ]


def column_of(model: Any, name: str) -> ColumnElement[Any] | None:
    """The column `name` of `model`'s rows: its table's, or a value read beside them
    (labelled with its name); None when it has neither."""
    table = inspect(model).local_table
    if name in table.c:
        return table.c[name]
    if name in read_beside(model):
        return getattr(model, name).expression.label(name)
    return None


def as_rows(stmt: Select[Any], columns: list[ColumnElement[Any]]) -> Select[Any]:
    """Return `stmt` (a select of a model) reading plain rows of `columns` instead."""
    return stmt.with_only_columns(*columns, maintain_column_froms=True)
