"""Building blocks for migrations of owned tables, importable from any revision.

`from migrations.helpers import create_owned_table, choices` (alembic.ini puts the project
root on `sys.path`). They write the columns, checks and indexes every owned table shares,
named the way the models' naming convention names them, so models and migrations agree.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op


def one_of(column: str, values: Sequence[str]) -> str:
    """Return the SQL condition `column IN ('a', 'b')` (as the models' `choices` write it)."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


def owner_columns() -> list[sa.Column[Any]]:
    """`owner_user_id` and `owner_group_id`: what the `own` and `group` scopes read."""
    return [
        sa.Column("owner_user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("owner_group_id", sa.Integer(), sa.ForeignKey("groups.id", ondelete="SET NULL")),
    ]


def timestamps() -> list[sa.Column[Any]]:
    """`created_at` and `updated_at`, with time zone, defaulting to now."""
    return [
        sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
        for name in ("created_at", "updated_at")
    ]


def owner_and_timestamps() -> list[sa.Column[Any]]:
    """Columns every owned table ends with, in the order of the production schema."""
    return [*owner_columns(), *timestamps()]


def owner_indexes(table: str) -> None:
    """Index the owner columns: every scoped list filters on them."""
    op.create_index(f"ix_{table}_owner_user_id", table, ["owner_user_id"])
    op.create_index(f"ix_{table}_owner_group_id", table, ["owner_group_id"])


def choices(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    """Check that `column` holds one of `values` (the tuple the model and schema use too)."""
    return check(table, column, one_of(column, values))


def check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    """A named check constraint, `ck_<table>_<name>` as the models name it."""
    # op.f() marks the name as final: the `ck` naming convention would prefix it again.
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def create_owned_table(table: str, *columns: Any, indexes: Sequence[str] = ()) -> None:
    """Create `table` with an `id` key, `columns`, the owner columns and timestamps, and
    indexes on the owner columns and on each column named in `indexes`."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), primary_key=True),
        *columns,
        *owner_and_timestamps(),
    )
    for column in indexes:
        op.create_index(f"ix_{table}_{column}", table, [column])
    owner_indexes(table)


@contextmanager
def keeping(*tables: str) -> Iterator[None]:
    """Keep the rows of `tables` through a batch operation that recreates a table they refer
    to `ON DELETE CASCADE`: on SQLite, with foreign keys on (as the app's connections have
    them, and no transaction can turn them off), dropping the old copy deletes them."""
    if op.get_context().dialect.name != "sqlite":
        yield
        return
    for table in tables:
        op.execute(f"CREATE TEMPORARY TABLE kept_{table} AS SELECT * FROM {table}")
    yield
    for table in tables:
        op.execute(f"DELETE FROM {table}")
        op.execute(f"INSERT INTO {table} SELECT * FROM kept_{table}")
        op.execute(f"DROP TABLE kept_{table}")
