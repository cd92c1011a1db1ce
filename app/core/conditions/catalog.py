"""What a condition can name: each permission model's columns (by kind) and its relations,
read from the tables' foreign keys.

A to-one relation is named by its foreign key without `_id` (`record.project`); a to-many one
by the table that refers to the record (`record.comments` of a task; `<table>_by_<key>` when
that table refers to it twice, as tasks do to users) or, through a link table, by the far
side (`record.tags` of a task).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

KINDS: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    Decimal: "decimal",
    str: "string",
    datetime: "time",
    date: "date",
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # one of KINDS' values


@dataclass(frozen=True, slots=True)
class ToOne:
    name: str  # "project"
    key: str  # the foreign key column on this table: "project_id"
    model: str  # the referenced permission model: "project"


@dataclass(frozen=True, slots=True)
class ToMany:
    name: str  # "comments", "tags"
    model: str  # the permission model of the rows: "comment", "tag"
    key: str  # the column on those rows (or on the link) naming this record: "task_id"
    link: Table | None = None  # the link table, when through one (task_tags)
    far: str = ""  # the link's column naming the far row: "tag_id"


@dataclass(frozen=True)
class Entity:
    """One permission model as conditions see it."""

    model: str
    table: Table
    columns: dict[str, Column] = field(default_factory=dict)
    ones: dict[str, ToOne] = field(default_factory=dict)
    manys: dict[str, ToMany] = field(default_factory=dict)


class Catalog:
    """Every permission model conditions may be written over, and their relations."""

    def __init__(
        self, models: Mapping[str, Any], visible: Mapping[str, Collection[str]] | None = None
    ) -> None:
        self.entities: dict[str, Entity] = {}
        by_table: dict[str, str] = {}
        for model, orm_class in models.items():
            table = orm_class.__table__
            by_table[table.name] = model
            shown = visible.get(model) if visible else None
            columns = {
                column.name: Column(column.name, kind)
                for column in table.columns
                if (shown is None or column.name in shown) and (kind := _kind(column)) is not None
            }
            self.entities[model] = Entity(model, table, columns)
        for entity in self.entities.values():
            for column in entity.table.columns:
                for key in column.foreign_keys:
                    target = by_table.get(key.column.table.name)
                    if target is None or not column.name.endswith("_id"):
                        continue
                    name = column.name.removesuffix("_id")
                    entity.ones[name] = ToOne(name, column.name, target)
        self._to_many(by_table, models)

    def _to_many(self, by_table: dict[str, str], models: Mapping[str, Any]) -> None:
        for entity in self.entities.values():
            referring: dict[str, list[ToOne]] = {}
            for one in entity.ones.values():
                referring.setdefault(one.model, []).append(one)
            for target, ones in referring.items():
                for one in ones:
                    name = entity.table.name
                    if len(ones) > 1:
                        name = f"{name}_by_{one.name}"
                    self.entities[target].manys[name] = ToMany(name, entity.model, one.key)
        metadata = next(iter(models.values())).metadata if models else None
        for table in metadata.tables.values() if metadata is not None else ():
            if table.name in by_table:
                continue
            keys = [
                (column.name, key.column.table.name)
                for column in table.columns
                for key in column.foreign_keys
            ]
            if len(keys) != 2 or not all(target in by_table for _, target in keys):
                continue
            for (near, near_table), (far, far_table) in (keys, keys[::-1]):
                entity = self.entities[by_table[near_table]]
                name = far_table
                if name not in entity.manys:
                    entity.manys[name] = ToMany(name, by_table[far_table], near, table, far)

    def entity(self, model: str) -> Entity:
        return self.entities[model]


def _kind(column: Any) -> str | None:
    kind = column.type
    try:
        python_type = getattr(kind, "impl_instance", kind).python_type
    except NotImplementedError:
        return None
    for known, kind in KINDS.items():
        if issubclass(python_type, known) and (known is not date or python_type is date):
            return kind
    return None
