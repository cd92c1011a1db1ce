"""Throwaway databases for the suite: create, migrate, reset to the seed, drop."""

import asyncio
import os
import re
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import Settings, with_driver
from app.core.database import create_sync_engine
from app.init_db import migrate, seed_database

__all__ = [
    "create_postgres_database",
    "drop_postgres_database",
    "migrate",
    "reset",
    "test_settings",
]

KEEP = {"alembic_version", "policy_state"}


def test_settings(*, database_url: str, sqlite_path: Path | None = None) -> Settings:
    extra = {"sqlite_path": sqlite_path} if sqlite_path else {}
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        secret_key="test-secret-key",
        argon2_time_cost=1,
        argon2_memory_cost=1024,
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


def reset(settings: Settings) -> None:
    """Empty every table (but the migration and policy revision) and seed again."""
    engine = create_sync_engine(settings)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            tables = connection.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).all()
            names = ", ".join(f'"{t}"' for t in tables if t not in KEEP)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            tables = connection.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'table'")
            ).all()
            connection.execute(text("PRAGMA defer_foreign_keys = ON"))
            for table in tables:
                if table not in KEEP and not table.startswith("sqlite_"):
                    connection.execute(text(f'DELETE FROM "{table}"'))
            if "sqlite_sequence" in tables:
                connection.execute(text("DELETE FROM sqlite_sequence"))
    engine.dispose()
    asyncio.run(seed_database(settings))
