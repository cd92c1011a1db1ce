"""The models and the migrations describe the same schema, and the migration runs both ways."""

from collections.abc import Iterator
from pathlib import Path
from pprint import pformat
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    MetaData,
    String,
    false,
    inspect,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.schema import DefaultClause

import app.resources  # noqa: F401  (every registered model, and the indexes their entries derive)
from app.core.database import Base, create_sync_engine
from app.init_db import migrate
from app.models.base import on_dialect
from tests.support import database
from tests.support.catalog import SERVER_URL, alembic_config, scratch_database

# SQLite has no trigram indexes (`on_dialect` leaves them out there), but Alembic warns about
# their lower() expressions before it asks.
pytestmark = pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index:UserWarning"
)

BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A sync engine on a freshly migrated database of each backend."""
    if request.param == "postgresql":
        assert SERVER_URL
        with scratch_database(SERVER_URL, "models") as url:
            settings = database.test_settings(database_url=url)
            migrate(settings)
            engine = create_sync_engine(settings)
            yield engine
            engine.dispose()
    else:
        path = tmp_path / "models.db"
        settings = database.test_settings(database_url=f"sqlite:///{path}", sqlite_path=path)
        migrate(settings)
        engine = create_sync_engine(settings)
        yield engine
        engine.dispose()


def differences(connection: Connection, metadata: MetaData = Base.metadata) -> list[Any]:
    """Return what autogenerate would change to turn the database into `metadata`."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": lambda obj, *_: on_dialect(obj, connection.dialect.name),
        },
    )
    return compare_metadata(context, metadata)


def kinds(diffs: list[Any]) -> set[tuple[str, str]]:
    """Return (operation, table) for each difference; modifications come grouped in lists."""
    found: set[tuple[str, str]] = set()
    for diff in diffs:
        for op in diff if isinstance(diff, list) else [diff]:
            table = op[2] if op[0].startswith("modify_") else _table_of(op)
            found.add((op[0], table))
    return found


def _table_of(op: tuple[Any, ...]) -> str:
    # add/remove ops carry the table name or a schema object with a `.table` or `.name`.
    for item in op[1:]:
        if isinstance(item, str):
            return item
        owner = getattr(item, "table", None)
        if owner is not None:
            return owner.name
        name = getattr(item, "name", None)
        if isinstance(name, str):
            return name
    raise AssertionError(f"no table in {op!r}")


def head_revision(connection: Connection) -> str | None:
    """Return the newest revision of the project's migration scripts."""
    return ScriptDirectory.from_config(alembic_config(connection)).get_current_head()


def test_models_match_migrated_schema(engine: Engine) -> None:
    """Check autogenerate finds nothing to change between the models and the migrations."""
    with engine.connect() as connection:
        diffs = differences(connection)
    assert diffs == [], "models differ from the migrated schema:\n" + pformat(diffs)


def test_check_constraint_names_match_models(engine: Engine) -> None:
    """Check every table has the check constraints the models name (autogenerate skips them)."""
    expected = {
        table.name: sorted(str(c.name) for c in table.constraints if isinstance(c, CheckConstraint))
        for table in Base.metadata.sorted_tables
    }
    assert "ck_tasks_priority" in expected["tasks"]
    with engine.connect() as connection:
        inspector = inspect(connection)
        found = {
            name: sorted(str(c["name"]) for c in inspector.get_check_constraints(name))
            for name in expected
        }
    assert found == expected


def test_comparison_catches_model_drift(engine: Engine) -> None:
    """Check a changed type, default and column in a copy of the models are all reported."""
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(drifted)
    tags = drifted.tables["tags"]
    tags.c.color.type = String(9)
    tags.c.color.server_default = DefaultClause(text("'#000000'"))
    tags.append_column(Column("archived", Boolean, nullable=False, server_default=false()))

    with engine.connect() as connection:
        found = kinds(differences(connection, drifted))

    assert found == {
        ("modify_type", "tags"),
        ("modify_default", "tags"),
        ("add_column", "tags"),
    }


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    """Downgrade to an empty database, upgrade to head, and match the models again."""
    with engine.begin() as connection:
        head = head_revision(connection)
        command.downgrade(alembic_config(connection), "base")
    with engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        assert connection.scalars(text("SELECT version_num FROM alembic_version")).all() == []

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        assert tables == {*Base.metadata.tables, "alembic_version"}
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head
        diffs = differences(connection)
    assert diffs == [], "models differ after downgrade and upgrade:\n" + pformat(diffs)
