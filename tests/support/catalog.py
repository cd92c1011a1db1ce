"""Scratch databases and catalog snapshots for the schema and migration tests."""

import difflib
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from sqlalchemy import Connection, MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT, with_driver

__all__ = [
    "BUSINESS_TABLES",
    "SERVER_URL",
    "alembic_config",
    "business_sql_path",
    "catalog_at",
    "catalog_diff",
    "dump_rows",
    "postgres_catalog",
    "scratch_database",
]

# An empty value counts as unset, as in conftest.py.
SERVER_URL = os.environ.get("TEST_DATABASE_URL") or None

BUSINESS_TABLES = (
    "customers",
    "projects",
    "tasks",
    "tags",
    "task_tags",
    "comments",
    "time_entries",
)

_serial = itertools.count(1)


def business_sql_path() -> Path:
    """Return the production schema the migrations reproduce, kept in the repository."""
    return PROJECT_ROOT / "migrations" / "reference" / "business.sql"


def _admin_url(server_url: str) -> str:
    return with_driver(server_url, asynchronous=False)


@contextmanager
def scratch_database(server_url: str, label: str, *, create: bool = True) -> Iterator[str]:
    """Yield a per-worker, per-process database URL (created unless `create` is false); drop it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # Identifiers are cut at 63 bytes; the counter keeps names unique within one process.
    name = re.sub(r"\W", "_", f"t_{label}_{worker}_{os.getpid()}_{next(_serial)}")[:63]
    admin = create_engine(
        _admin_url(server_url), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    try:
        if create:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def alembic_config(connection: Connection) -> Config:
    """Return the project's Alembic config, bound to `connection` like `init_db.migrate`."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.attributes["connection"] = connection
    return config


def postgres_catalog(connection: Connection, tables: Sequence[str]) -> dict[str, str]:
    """Describe the columns, constraints and indexes of `tables`, one entry per object."""
    found: dict[str, str] = {}
    params = {"tables": list(tables)}
    columns = connection.execute(
        text(
            """
            SELECT table_name, column_name, data_type, character_maximum_length,
                   numeric_precision, numeric_scale, is_nullable, column_default
            FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = ANY(:tables)
            """
        ),
        params,
    )
    for table, column, *details in columns:
        kind, length, precision, scale, nullable, default = details
        found[f"column {table}.{column}"] = (
            f"{kind} length={length} precision={precision} scale={scale} "
            f"nullable={nullable} default={default}"
        )
    constraints = connection.execute(
        text(
            """
            SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
            FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid
            WHERE c.relnamespace = current_schema()::text::regnamespace AND c.relname = ANY(:tables)
            """
        ),
        params,
    )
    for table, name, kind, definition in constraints:
        found[f"constraint {table}.{name}"] = f"{kind} {definition}"
    indexes = connection.execute(
        text(
            """
            SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relnamespace = current_schema()::text::regnamespace AND t.relname = ANY(:tables)
            """
        ),
        params,
    )
    schema = connection.scalar(text("SELECT current_schema()"))
    for table, name, definition in indexes:
        # The schema qualifier is where the two databases may differ, not the index.
        found[f"index {table}.{name}"] = definition.replace(f" ON {schema}.", " ON ")
    return found


def catalog_at(url: str, tables: Sequence[str]) -> dict[str, str]:
    """Return the catalog snapshot of `tables` in the database at `url`."""
    engine = create_engine(with_driver(url, asynchronous=False))
    try:
        with engine.connect() as connection:
            return postgres_catalog(connection, tables)
    finally:
        engine.dispose()


def catalog_diff(
    expected: dict[str, str],
    actual: dict[str, str],
    *,
    labels: tuple[str, str] = ("business.sql", "migrations"),
) -> list[str]:
    """Return a unified diff of two catalog snapshots; empty when they are equal."""

    def lines(catalog: dict[str, str]) -> list[str]:
        return [f"{key}: {value}" for key, value in sorted(catalog.items())]

    return list(difflib.unified_diff(lines(expected), lines(actual), *labels, n=0, lineterm=""))


def dump_rows(
    connection: Connection, skip_columns: frozenset[str] = frozenset()
) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, sorted, without the columns named in `skip_columns`."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    metadata = MetaData()
    for name in sorted(inspect(connection).get_table_names()):
        table = Table(name, metadata, autoload_with=connection)
        columns = [c for c in table.columns if c.name not in skip_columns]
        rows = connection.execute(select(*columns)).all()
        dump[name] = sorted((tuple(row) for row in rows), key=repr)
    return dump
