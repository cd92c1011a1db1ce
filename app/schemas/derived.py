"""A table's API schemas, derived from its SQLAlchemy model: each fact written once.

The create schema takes every column a client may set, with the column's type, length,
default, choices (`choices`), bounds (`bounded`), pattern and format (the column's `info`);
the rules over several fields come from its `ordered` checks; `<x>_ids` fields from its
many-to-many relations. The update schema is the create schema with every field optional,
and the read schema shows every column (and the ids of each relation). Where the API
differs from the table (a user's write-only password), the registry entry declares its
own schemas instead.

Column `info` keys: `pattern` (regex, words[, example]), `format` ("email"), `min_length`
(a required text is never blank: 1 by default), `max_length` (of a TEXT column: the most a
client may send, rather than `LONG_TEXT`), `example` (a text the docs and tests may send,
where made-up text would not do: an expression).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, EmailStr, Field, create_model
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Integer,
    Numeric,
    SmallInteger,
    String,
)
from sqlalchemy import Text as TextType

from app.core.database import UTCDateTime
from app.core.messages import pattern
from app.core.numbers import INT_MAX, SMALLINT_MAX
from app.models.base import link_fields
from app.schemas.common import (
    Bool,
    Id,
    OwnerFields,
    ReadSchema,
    Rule,
    Text,
    Timestamp,
    UTCTimestamp,
    partial,
)
from app.schemas.common import Date as DateField

LONG_TEXT = 100_000  # the most an unbounded TEXT column takes from a client
MOST_LINKED = 200  # the most records one `<x>_ids` field may name
# Columns no client sets: the key, the owners (`OwnerFields`), the times of the record.
MANAGED = frozenset({"id", "owner_user_id", "owner_group_id", "created_at", "updated_at"})


def checks(model: type[Any]) -> list[CheckConstraint]:
    """The model's check constraints, by name (a table's constraints are a set)."""
    found = [c for c in model.__table__.constraints if isinstance(c, CheckConstraint)]
    return sorted(found, key=lambda check: str(check.name))


def choices_of(model: type[Any], column: str) -> tuple[str, ...] | None:
    for check in checks(model):
        if check.info.get("column") == column and "choices" in check.info:
            return tuple(check.info["choices"])
    return None


def bounds_of(model: type[Any], column: str) -> dict[str, Any]:
    for check in checks(model):
        if check.info.get("column") == column and "bounds" in check.info:
            return dict(check.info["bounds"])
    return {}


def rules_of(model: type[Any]) -> tuple[Rule, ...]:
    """The rules over two fields the model's `ordered` checks state."""
    found = []
    for check in checks(model):
        if "order" in check.info:
            later, earlier = check.info["order"]
            found.append(
                Rule(
                    (later, earlier),
                    check.info["words"],
                    lambda r, a=later, b=earlier: not (r[a] and r[b]) or r[a] >= r[b],
                )
            )
    return tuple(found)


def default_of(column: Column[Any]) -> Any:
    """The column's Python default when it is a plain value (None: none)."""
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return None
    return default.arg


def input_type(model: type[Any], column: Column[Any]) -> tuple[Any, dict[str, Any]]:
    """The input annotation of a column, and the constraints its `Field` adds."""
    kind = column.type
    values = choices_of(model, column.name)
    if values is not None:
        return Literal[values], {}  # type: ignore[valid-type]
    if column.foreign_keys:
        return Id, {}
    if isinstance(kind, Boolean):
        return Bool, {}
    if isinstance(kind, UTCDateTime):
        return UTCTimestamp, {}
    if isinstance(kind, Date):
        return DateField, {}
    bounds = bounds_of(model, column.name)
    if isinstance(kind, Numeric):
        return Decimal, {"max_digits": kind.precision, "decimal_places": kind.scale, **bounds}
    if isinstance(kind, Integer):
        if "gt" in bounds:  # a whole number above n is at least n + 1
            bounds["ge"] = int(bounds.pop("gt")) + 1
        bounds.setdefault("le", SMALLINT_MAX if isinstance(kind, SmallInteger) else INT_MAX)
        return int, bounds
    if isinstance(kind, String | TextType):
        length = getattr(kind, "length", None) or column.info.get("max_length")
        if column.info.get("format") == "email":
            return EmailStr, {"max_length": length}
        required = not column.nullable and default_of(column) is None
        low = column.info.get("min_length", 1 if required else 0)
        text = Text(length or LONG_TEXT, min_length=low)
        if "pattern" in column.info:
            return Annotated[text, pattern(*column.info["pattern"])], {}
        example = column.info.get("example")
        return text, ({"examples": [example]} if example is not None else {})
    raise TypeError(f"{model.__name__}.{column.name}: no input type for {kind!r}")


def read_type(model: type[Any], column: Column[Any]) -> Any:
    """The annotation a column is shown with."""
    values = choices_of(model, column.name)
    if values is not None:
        return Literal[values]  # type: ignore[valid-type]
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return Timestamp
    python = kind.python_type
    return python if python in (str, int, bool, Decimal, date, datetime) else Any


def create_schema(model: type[Any], name: str | None = None) -> type[BaseModel]:
    """The create schema of `model` (see the module's docstring)."""
    fields: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.name in MANAGED:
            continue
        annotation, constraints = input_type(model, column)
        default = default_of(column)
        if column.nullable:
            fields[column.name] = (annotation | None, Field(default=None, **constraints))
        elif default is not None:
            fields[column.name] = (annotation, Field(default=default, **constraints))
        else:
            fields[column.name] = (annotation, Field(**constraints))
    for field in link_fields(model):
        fields[field] = (list[Id], Field(default_factory=list, max_length=MOST_LINKED))
    schema = create_model(name or f"{model.__name__}Create", __base__=OwnerFields, **fields)
    schema.rules = rules_of(model)
    return schema


def read_schema(model: type[Any], name: str | None = None) -> type[BaseModel]:
    """The read schema of `model`: every column, and the ids of each relation."""
    fields: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.name in MANAGED:
            continue
        annotation = read_type(model, column)
        fields[column.name] = (annotation | None if column.nullable else annotation, ...)
    for field in link_fields(model):
        fields[field] = (list[int], ...)
    return create_model(name or f"{model.__name__}Read", __base__=ReadSchema, **fields)


def schemas(model: type[Any]) -> tuple[type[BaseModel], type[BaseModel], type[BaseModel]]:
    """The create, update and read schemas of `model`."""
    created = create_schema(model)
    return created, partial(created, f"{model.__name__}Update"), read_schema(model)
