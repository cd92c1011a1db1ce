"""Column mixins every model table shares."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Table, func, inspect
from sqlalchemy import column as column_
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import UTCDateTime, utcnow


class TimestampMixin:
    """`created_at` / `updated_at`, aware UTC, set by the app and defaulted by the database."""

    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class OwnedMixin:
    """Owner fields that `own` and `group` scopes are evaluated against."""

    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    owner_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL"), index=True
    )


def choices(column: str, values: Sequence[str]) -> CheckConstraint:
    """Check that `column` holds one of `values`.

    The tuple is written once, beside the model: the schema's `Literal`, the form's options
    and the migration's check (`migrations/helpers.py: choices`) are made from it too.
    """
    return CheckConstraint(
        one_of(column, values), name=column, info={"column": column, "choices": tuple(values)}
    )


def bounded(
    column: str,
    *,
    name: str,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> CheckConstraint:
    """Check that `column` lies within bounds (`ge`/`gt` below, `le` above). The bounds are
    kept on the constraint too, so the API's schemas say and check the same limits."""
    low = f"{column} >= {ge}" if ge is not None else f"{column} > {gt}" if gt is not None else ""
    if ge is not None and le is not None:
        text = f"{column} BETWEEN {ge} AND {le}"
    else:
        text = " AND ".join(part for part in (low, le is not None and f"{column} <= {le}") if part)
    bounds = {
        key: value for key, value in (("ge", ge), ("gt", gt), ("le", le)) if value is not None
    }
    return CheckConstraint(text, name=name, info={"column": column, "bounds": bounds})


def ordered(later: str, earlier: str, *, name: str, words: str) -> CheckConstraint:
    """Check that `later` is on or after `earlier` when both are set (a due date and a start
    date); `words` say what the rule asks, as the API's and the forms' message."""
    return CheckConstraint(
        f"{later} >= {earlier}", name=name, info={"order": (later, earlier), "words": words}
    )


def one_of(column: str, values: Sequence[str]) -> str:
    """Return the SQL condition `column IN ('a', 'b')`."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


def sort_indexes(table: str, *columns: str) -> tuple[Index, ...]:
    """Index each column a list may be sorted by, with `id` as the tiebreaker it sorts by.

    `ORDER BY <column>, id` (or both descending) then reads the first page, and a keyset
    page anywhere, straight from the index. Added by migration 0002, not by business.sql.
    """
    return tuple(Index(f"ix_{table}_{column}_id", column, "id") for column in columns)


def search_index(table: str | Table, *columns: str) -> Index:
    """One trigram index over `lower()` of the columns `q=` searches (`lower(column) LIKE
    '%...%'`), PostgreSQL only: in a model's `__table_args__` (the table's name), or added
    to a table made already (the table itself).

    A multicolumn GIN index serves a condition on any of its columns, so the search's
    `OR` of one `LIKE` per column is answered from it. SQLite has no such index and scans.
    """
    name = table if isinstance(table, str) else table.name
    found = [column_(column) if isinstance(table, str) else table.c[column] for column in columns]
    index = Index(
        f"ix_{name}_search",
        *(func.lower(column).label(f"lower_{column.name}") for column in found),
        postgresql_using="gin",
        postgresql_ops={f"lower_{name}": "gin_trgm_ops" for name in columns},
    )
    return index.ddl_if(dialect="postgresql")


def follow_indexes(
    table: Table, sort_columns: Sequence[str], search_columns: Sequence[str]
) -> None:
    """Give `table` the indexes its lists need, where it has none yet: each column a list
    may sort by gets `(column, id)` unless an index already starts with it, and the
    searched columns one trigram index (`search_index`). A registry entry's sort and search
    columns are then all a new table declares."""
    led = {column.name for column in table.primary_key.columns}
    led |= {next(iter(index.columns)).name for index in table.indexes if index.columns}
    for name in sort_columns:
        if name not in led and name in table.c:
            Index(f"ix_{table.name}_{name}_id", table.c[name], table.c.id)
    named = {index.name for index in table.indexes}
    if search_columns and f"ix_{table.name}_search" not in named:
        search_index(table, *search_columns)


def link_fields(model: type[Any]) -> dict[str, Any]:
    """Each many-to-many relationship of `model` by the input field that writes it, in
    mapping order: `Task.tags` is written as `tag_ids`."""
    return {
        f"{rel.key.removesuffix('s')}_ids": rel
        for rel in inspect(model).relationships
        if rel.secondary is not None
    }


def on_dialect(obj: object, dialect: str) -> bool:
    """Return whether a schema object exists on `dialect`: a GIN index (see `search_index`)
    exists only on PostgreSQL. For Alembic's comparisons."""
    if isinstance(obj, Index) and obj.dialect_options["postgresql"]["using"] == "gin":
        return dialect == "postgresql"
    return True
