"""Migration 0008 on a database with data: a role's permissions survive it both ways (SQLite
copies the permissions table, and dropping the old copy would cascade to role_permissions),
and afterwards two permissions without a condition still clash, while one with a condition
may sit beside them."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.core.database import create_sync_engine
from app.init_db import migrate
from tests.support import database
from tests.support.catalog import SERVER_URL, alembic_config, scratch_database

BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of each backend migrated to 0007, a role holding one permission."""
    if request.param == "postgresql":
        assert SERVER_URL
        with scratch_database(SERVER_URL, "conditions") as url:
            settings = database.test_settings(database_url=url)
            migrate(settings, "0007")
            engine = create_sync_engine(settings)
            yield engine
            engine.dispose()
    else:
        path = tmp_path / "conditions.db"
        settings = database.test_settings(database_url=f"sqlite:///{path}", sqlite_path=path)
        migrate(settings, "0007")
        engine = create_sync_engine(settings)
        yield engine
        engine.dispose()


def links(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT role_id, permission_id FROM role_permissions"))
        return sorted((row[0], row[1]) for row in rows)


def test_the_roles_permissions_survive_and_the_key_holds(engine: Engine) -> None:
    with engine.begin() as connection:
        role = connection.scalar(text("INSERT INTO roles (name) VALUES ('r') RETURNING id"))
        permission = connection.scalar(
            text(
                "INSERT INTO permissions (model, action, scope)"
                " VALUES ('task', 'read', 'own') RETURNING id"
            )
        )
        connection.execute(
            text("INSERT INTO role_permissions VALUES (:role, :permission)"),
            {"role": role, "permission": permission},
        )
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0008")
    assert links(engine) == [(role, permission)]

    with engine.begin() as connection:
        condition = connection.scalar(
            text(
                "INSERT INTO conditions (name, model, expression)"
                " VALUES ('open', 'task', 'record.status != ''done''') RETURNING id"
            )
        )
        connection.execute(
            text(
                "INSERT INTO permissions (model, action, scope, condition_id)"
                " VALUES ('task', 'read', 'own', :condition)"
            ),
            {"condition": condition},
        )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text("INSERT INTO permissions (model, action, scope) VALUES ('task', 'read', 'own')")
        )

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0007")
    assert links(engine) == [(role, permission)]
    with engine.connect() as connection:  # the conditioned permission went with its condition
        assert connection.scalar(text("SELECT count(*) FROM permissions")) == 1
