"""Engines, sessions and the declarative base shared by every model."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app.core.config import Settings

# Names match what PostgreSQL itself gives the production schema (`<table>_pkey`,
# `<table>_<column>_fkey`), so migrations and `business.sql` agree constraint by constraint.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A `TIMESTAMPTZ` that always hands back aware UTC datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own lower() knows ASCII only; search compares lower(column) with a pattern
    # lowered by Python, so both must lower alike.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_sync_engine(settings: Settings) -> Engine:
    """Create the sync engine used by Alembic, the Casbin adapter and scripts."""
    url = settings.sync_database_url
    if url.startswith("sqlite"):
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


# What PostgreSQL's planner is told on the app's connections. Starting a parallel worker
# costs milliseconds, more than the default `parallel_setup_cost` (1000) says: with it, a
# list page filtered through another table (a few thousand index probes, 16 ms alone) took
# a parallel plan twice as slow. At 5000 such a page runs alone and a count over a million
# rows still runs in parallel (`scripts/bench_conditions.py` measures both plans' lists).
PLANNER_OPTIONS = "-c parallel_setup_cost=5000"


def create_app_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine the application serves requests with."""
    url = settings.async_database_url
    if url.startswith("sqlite"):
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 5})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No ping on every checkout (a round trip per request): a connection the server has
    # dropped fails once and the pool then replaces every connection it holds; none is kept
    # longer than `db_pool_recycle` seconds.
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_recycle=settings.db_pool_recycle,
        connect_args={"connect_timeout": 5, "options": PLANNER_OPTIONS},
    )
