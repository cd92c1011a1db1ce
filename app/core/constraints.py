"""What a database refusal means: the constraint it names, translated to the write error it
stands for (a unique clash 409, a check or a missing reference 422)."""

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import CheckConstraint, Column
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import visitors

from app.core.database import Base
from app.core.errors import FieldError, WriteError, clash

_SQLITE_COLUMN = re.compile(r"constraint failed: (?:\w+)\.(\w+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (\w+)")


@lru_cache
def _check_columns() -> dict[str, list[str]]:
    """Map each check constraint's name to the columns its expression names, in order."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint) and isinstance(constraint.name, str):
                text = str(constraint.sqltext)
                at = {
                    column.name: match.start()
                    for column in table.columns
                    if (match := re.search(rf"\b{re.escape(column.name)}\b", text))
                }
                found[constraint.name] = sorted(at, key=at.__getitem__)
    return found


def _check_fields(name: str) -> list[str]:
    return _check_columns().get(name, [name])


@lru_cache
def _expression_indexes() -> dict[str, list[str]]:
    """Map each unique index over expressions (`lower(username)`) to the columns it reads."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            if index.unique and isinstance(index.name, str):
                found[index.name] = [
                    column.name
                    for expression in index.expressions
                    for column in visitors.iterate(expression)
                    if isinstance(column, Column)
                ]
    return found


_SQLITE_INDEX = re.compile(r"UNIQUE constraint failed: index '(\w+)'")


def constraint_fields(exc: DBAPIError) -> tuple[str | None, list[str]]:
    """Return the SQLSTATE (PostgreSQL) and the column names the error names."""
    orig: Any = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    fields: list[str] = []
    index = diag.constraint_name if diag is not None else None
    if index is None and (found := _SQLITE_INDEX.search(str(orig))):
        index = found.group(1)
    if index in _expression_indexes():
        return sqlstate, list(_expression_indexes()[index])
    if diag is not None:
        if diag.column_name:
            fields.append(diag.column_name)
        detail = diag.message_detail or ""
        match = re.search(r"Key \(([^)]+)\)", detail)
        if match:
            fields.extend(part.strip() for part in match.group(1).split(","))
        if not fields and diag.constraint_name:
            fields.extend(_check_fields(diag.constraint_name))
    else:
        fields.extend(_SQLITE_COLUMN.findall(str(orig)))
        fields.extend(f for name in _SQLITE_CHECK.findall(str(orig)) for f in _check_fields(name))
    return sqlstate, fields


_REFERENCED_FROM = re.compile(r'is still referenced from table "?(\w+)"?')


def is_reference(exc: IntegrityError) -> bool:
    """Whether the database refused a write for a foreign key (to a missing record, or a
    delete of one still referred to)."""
    return _kind(exc) == "foreign_key"


def referring_table(exc: IntegrityError) -> str | None:
    """The table whose rows still refer to a record a delete was refused for (PostgreSQL
    names it; SQLite does not)."""
    found = _REFERENCED_FROM.search(str(exc.orig))
    return found.group(1) if found else None


def _kind(exc: IntegrityError) -> str:
    sqlstate, _ = constraint_fields(exc)
    text = str(exc.orig).upper()
    if sqlstate == "23505" or "UNIQUE CONSTRAINT" in text:
        return "unique"
    if sqlstate == "23503" or "FOREIGN KEY" in text:
        return "foreign_key"
    if sqlstate == "23502" or "NOT NULL" in text:
        return "not_null"
    return "check"


def integrity_write_error(exc: IntegrityError) -> WriteError:
    """Translate a constraint the database enforced into the write error it stands for."""
    _, fields = constraint_fields(exc)
    kind = _kind(exc)
    if kind == "unique":
        return clash(fields)
    names = ", ".join(fields) or "value"
    messages = {
        "foreign_key": f"{names} refers to a record that does not exist",
        "not_null": f"{names} is required",
        "check": f"{names}: value not allowed",
    }
    # A check over several columns (due_date >= start_date) names each of them.
    named = fields if kind == "check" else fields[:1]
    return WriteError([FieldError(f, messages[kind], kind) for f in named or [""]])
