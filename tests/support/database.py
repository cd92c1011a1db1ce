"""Throwaway databases for the suite: create, migrate, reset to the seed, drop."""

import asyncio
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, select, text, update
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT, Settings, with_driver
from app.core.database import Base, create_sync_engine
from app.init_db import migrate, seed_database
from app.models import PolicyState

__all__ = [
    "create_postgres_database",
    "drop_postgres_database",
    "migrate",
    "reset",
    "run_init_db",
    "test_settings",
]

KEEP = {"alembic_version", "policy_state"}
# Refused sign-ins wait this long in the suite (500 ms by default: the throttle tests send
# a hundred of them).
REFUSAL_DELAY_MS = 50
# The suite's server believes forwarded headers from this loopback address alone: a client
# bound to it stands for a reverse proxy; every other client is its own peer.
PROXY = "127.0.0.9"


def test_settings(*, database_url: str, sqlite_path: Path | None = None) -> Settings:
    extra = {"sqlite_path": sqlite_path} if sqlite_path else {}
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        secret_key="test-secret-key-of-at-least-32-bytes",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
        login_refusal_delay_ms=REFUSAL_DELAY_MS,
        trusted_proxies=[PROXY],
        **extra,
    )


def _admin_engine(server_url: str):
    url = make_url(with_driver(server_url, asynchronous=False))
    return create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


def create_postgres_database(server_url: str, worker: str) -> str:
    """Create a fresh database on the server; fail loudly if the server does not answer."""
    # Unique per run too: two runs on one server must not drop each other's databases.
    name = "crud_test_" + re.sub(r"\W", "_", worker) + f"_{os.getpid()}"
    engine = _admin_engine(server_url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, settings: Settings) -> None:
    name = make_url(settings.sync_database_url).database
    engine = _admin_engine(server_url)
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@dataclass
class _Snapshot:
    """The seeded rows of every table, and the policy revision the last reset left."""

    rows: dict[str, list[dict[str, Any]]]
    revision: int


_engines: dict[str, Engine] = {}
_snapshots: dict[str, _Snapshot] = {}


def _engine(settings: Settings) -> Engine:
    url = settings.sync_database_url
    if url not in _engines:
        _engines[url] = create_sync_engine(settings)
    return _engines[url]


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in KEEP]


def _revision(connection: Connection) -> int:
    return connection.scalar(select(PolicyState.revision).where(PolicyState.id == 1)) or 0


def _restart_sequences(connection: Connection) -> None:
    """Point each id sequence just past the table's largest id, as a fresh seed leaves it."""
    for table in _tables():
        if "id" in table.c:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def reset(settings: Settings) -> None:
    """Put every table (but the migration and policy revision) back to the seeded rows.

    The first reset of a database seeds it with `init_db` and keeps a snapshot; later ones
    rewrite the rows from the snapshot. The policy revision moves only when the test
    changed it, so the server keeps its warm enforcer across tests that leave policy alone.
    """
    engine = _engine(settings)
    url = settings.sync_database_url
    snapshot = _snapshots.get(url)
    with engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:  # the suite's URL is a superuser: skip FK triggers while rewriting
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("PRAGMA defer_foreign_keys = ON"))
        for table in reversed(_tables()):
            connection.execute(table.delete())
        if snapshot is not None:
            for table in _tables():
                if snapshot.rows[table.name]:
                    connection.execute(table.insert(), snapshot.rows[table.name])
            if postgres:
                _restart_sequences(connection)
            if _revision(connection) != snapshot.revision:
                connection.execute(update(PolicyState).values(revision=PolicyState.revision + 1))
                snapshot.revision = _revision(connection)
            return
        if postgres:
            for table in _tables():
                if "id" in table.c:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"
                        )
                    )
    asyncio.run(seed_database(settings))
    with engine.connect() as connection:
        rows = {
            table.name: [dict(row._mapping) for row in connection.execute(select(table))]
            for table in _tables()
        }
        _snapshots[url] = _Snapshot(rows=rows, revision=_revision(connection))


def run_init_db(
    database_url: str, *args: str, merge_output: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `python -m app.init_db` with `args` on the database at `database_url`, from the
    project root (stderr into stdout with `merge_output`); cheap password hashing."""
    # Drop inherited settings that could point the script at another database.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POSTGRES_") and key not in ("DATABASE_URL", "SQLITE_PATH")
    }
    env |= {"DATABASE_URL": database_url, "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
    return subprocess.run(
        [sys.executable, "-m", "app.init_db", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
        text=True,
        timeout=180,
        check=False,
    )
