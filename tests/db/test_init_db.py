"""`python -m app.init_db` creates, migrates and seeds a database, and is idempotent."""

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import with_driver
from app.core.database import create_sync_engine
from app.core.security import passwords_for
from app.resources import PERMISSION_MODELS
from tests.support import database
from tests.support.catalog import SERVER_URL, dump_rows, scratch_database

BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]

# The contract's default data, written out here rather than imported from the app.
CONTRACT_MODELS = (
    "user",
    "role",
    "permission",
    "session",
    "group",
    "customer",
    "project",
    "task",
    "tag",
    "comment",
    "time_entry",
)
BUSINESS = ("customer", "project", "task", "tag", "comment", "time_entry")
# Every registered model has its permissions: the contract's and any table added since.
MODELS = (*CONTRACT_MODELS, *(m for m in PERMISSION_MODELS if m not in CONTRACT_MODELS))
ACTIONS = ("create", "read", "update", "delete")
SCOPES = ("all", "own", "group")
OWN_AND_GROUP_READ = ("create:own", "read:own", "update:own", "delete:own", "read:group")
ROLE_PERMISSIONS = {
    # ... and reading the audit log and the metrics, the permissions beside the models' grid.
    "admin": {f"{m}:{a}:all" for m in MODELS for a in ACTIONS}
    | {"audit:read:all", "metrics:read:all"},
    "user": {"user:read:own", "user:update:own", "session:read:own", "session:delete:own"}
    | {f"{m}:{p}" for m in BUSINESS if m != "tag" for p in OWN_AND_GROUP_READ}
    | {"tag:read:all", "tag:create:own", "tag:update:own", "tag:delete:own"},
    "manager": {f"{m}:{a}:group" for m in BUSINESS for a in ACTIONS},
}
USERS = {"admin": ("admin123", {"admin"}, set()), "demo": ("demo123", {"user"}, {"demo-team"})}


@dataclass
class Initialised:
    """A database after two runs of init_db, with a row dump taken after each."""

    backend: str
    url: str
    existed_before: bool
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    after_first: dict[str, list[tuple[Any, ...]]]
    after_second: dict[str, list[tuple[Any, ...]]]


def run_init_db(database_url: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m app.init_db`, stdout and stderr combined."""
    return database.run_init_db(database_url, merge_output=True)


def postgres_database_exists(url: str) -> bool:
    """Return whether the database named by `url` exists on its server."""
    name = make_url(url).database
    engine = create_engine(
        make_url(with_driver(url, asynchronous=False)).set(database="postgres"),
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as connection:
            found = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            return found is not None
    finally:
        engine.dispose()


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of the database at `url`, every column included."""
    engine = create_sync_engine(database.test_settings(database_url=url))
    try:
        with engine.connect() as connection:
            # No column is left out: a run with nothing to do must not even touch a timestamp.
            return dump_rows(connection)
    finally:
        engine.dispose()


def initialise_twice(backend: str, url: str, existed_before: bool) -> Initialised:
    """Run init_db twice on `url` and dump the rows after each run."""
    first = run_init_db(url)
    after_first = dump(url) if first.returncode == 0 else {}
    second = run_init_db(url)
    after_second = dump(url) if second.returncode == 0 else {}
    return Initialised(backend, url, existed_before, first, second, after_first, after_second)


@pytest.fixture(scope="module", params=BACKENDS)
def initialised(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Initialised]:
    """A database that did not exist, after two runs of init_db, for each backend."""
    if request.param == "postgresql":
        assert SERVER_URL
        with scratch_database(SERVER_URL, "initdb", create=False) as url:
            yield initialise_twice("postgresql", url, postgres_database_exists(url))
    else:
        path = tmp_path_factory.mktemp("initdb") / "x.db"
        yield initialise_twice("sqlite", f"sqlite:///{path}", path.exists())


def fetch(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Return the rows of `sql` as plain tuples."""
    return [tuple(row) for row in connection.execute(text(sql))]


def test_first_run_creates_the_database(initialised: Initialised) -> None:
    """Check the database was missing, and that the first run succeeded and said so."""
    assert not initialised.existed_before
    assert initialised.first.returncode == 0, initialised.first.stdout
    assert "Traceback" not in initialised.first.stdout
    if initialised.backend == "postgresql":
        assert postgres_database_exists(initialised.url)


def test_first_run_seeds_the_default_data(initialised: Initialised) -> None:
    """Check permissions, roles, users, groups and Casbin rows against the contract."""
    assert initialised.first.returncode == 0, initialised.first.stdout
    engine = create_sync_engine(database.test_settings(database_url=initialised.url))
    with engine.connect() as connection:
        permissions = fetch(connection, "SELECT model, action, scope FROM permissions")
        grants = fetch(
            connection,
            "SELECT r.name, p.model || ':' || p.action || ':' || p.scope FROM roles r "
            "JOIN role_permissions rp ON rp.role_id = r.id "
            "JOIN permissions p ON p.id = rp.permission_id",
        )
        role_names = fetch(connection, "SELECT name FROM roles")
        memberships = fetch(
            connection,
            "SELECT u.username, r.name FROM users u "
            "JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id",
        )
        groups = fetch(
            connection,
            "SELECT u.username, g.name FROM users u "
            "JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id",
        )
        usernames = fetch(connection, "SELECT username FROM users")
        rules = fetch(connection, "SELECT ptype, v0, v1, v2, v3 FROM casbin_rule")
    engine.dispose()

    assert len(permissions) == len(MODELS) * len(ACTIONS) * len(SCOPES) + 2
    grid = {(m, a, s) for m in MODELS for a in ACTIONS for s in SCOPES}
    assert set(permissions) == grid | {("audit", "read", "all"), ("metrics", "read", "all")}
    assert sorted(name for (name,) in role_names) == ["admin", "manager", "user"]
    for role, wanted in ROLE_PERMISSIONS.items():
        assert {p for name, p in grants if name == role} == wanted, role
    assert sorted(name for (name,) in usernames) == ["admin", "demo"]
    for username, (_, roles, member_of) in USERS.items():
        assert {r for u, r in memberships if u == username} == roles, username
        assert {g for u, g in groups if u == username} == member_of, username

    # One policy line per grant, per user role and per group membership.
    policies: dict[str, set[str]] = {}
    for ptype, subject, model, action, scope in rules:
        if ptype == "p":
            policies.setdefault(subject, set()).add(f"{model}:{action}:{scope}")
    assert sorted(map(sorted, policies.values())) == sorted(map(sorted, ROLE_PERMISSIONS.values()))
    assert sum(1 for rule in rules if rule[0] == "p") == len(grants)
    assert sum(1 for rule in rules if rule[0] == "g") == len(memberships) == 2
    assert sum(1 for rule in rules if rule[0] == "g2") == len(groups) == 1


def test_second_run_changes_nothing(initialised: Initialised) -> None:
    """Check a second run exits 0 and leaves every row of every table as it was."""
    assert initialised.first.returncode == 0, initialised.first.stdout
    assert initialised.second.returncode == 0, initialised.second.stdout
    assert "Traceback" not in initialised.second.stdout
    assert initialised.after_first["permissions"], "the dump is empty"
    assert initialised.after_second == initialised.after_first


def test_seeded_passwords_verify(initialised: Initialised) -> None:
    """Check the default users' stored hashes accept their passwords and nothing else."""
    settings = database.test_settings(database_url=initialised.url)
    engine = create_sync_engine(settings)
    with engine.connect() as connection:
        hashes = dict(fetch(connection, "SELECT username, hashed_password FROM users"))
    engine.dispose()
    passwords = passwords_for(settings)
    for username, (password, _, _) in USERS.items():
        assert hashes[username] != password
        assert asyncio.run(passwords.verify(password, hashes[username]))[0], username
        assert not asyncio.run(passwords.verify(password + "x", hashes[username]))[0], username


def test_unreachable_server_fails_with_one_line() -> None:
    """Check an unreachable server gives a non-zero exit and one line naming host and port."""
    result = run_init_db("postgresql://postgres@127.0.0.1:1/nope")

    assert result.returncode != 0
    assert "Traceback" not in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    assert "127.0.0.1:1" in lines[0]


def test_later_runs_restore_permissions_but_never_a_deleted_account(tmp_path: Path) -> None:
    """A deleted default permission comes back; a deleted account, role or group does not."""
    url = f"sqlite:///{tmp_path / 'deleted.db'}"
    assert run_init_db(url).returncode == 0
    engine = create_sync_engine(database.test_settings(database_url=url))
    deleted = (
        "DELETE FROM users WHERE username = 'demo'",
        "DELETE FROM roles WHERE name = 'manager'",
        "DELETE FROM groups WHERE name = 'demo-team'",
        "DELETE FROM permissions WHERE model = 'tag' AND action = 'read' AND scope = 'all'",
    )
    try:
        with engine.begin() as connection:
            for statement in deleted:
                assert connection.execute(text(statement)).rowcount == 1
        again = run_init_db(url)
        assert again.returncode == 0, again.stdout
        with engine.connect() as connection:
            users = fetch(connection, "SELECT username FROM users ORDER BY username")
            roles = fetch(connection, "SELECT name FROM roles ORDER BY name")
            groups = fetch(connection, "SELECT name FROM groups")
            tag_read_all = fetch(
                connection,
                "SELECT 1 FROM permissions WHERE model = 'tag' AND action = 'read' "
                "AND scope = 'all'",
            )
    finally:
        engine.dispose()
    assert users == [("admin",)]
    assert roles == [("admin",), ("user",)]
    assert groups == []
    assert tag_read_all == [(1,)]
    assert "permission tag:read:all" in again.stdout and "user demo" not in again.stdout


def test_a_model_whose_permissions_were_deleted_comes_back_to_admin_only(
    tmp_path: Path,
) -> None:
    """An admin withdraws tags by deleting their 12 permissions: the next start makes them
    again and gives admin the `all` ones, but not the `user` role (every registration's) its
    declared defaults: those are for a table just added, still empty."""
    url = f"sqlite:///{tmp_path / 'withdrawn.db'}"
    assert run_init_db(url).returncode == 0
    engine = create_sync_engine(database.test_settings(database_url=url))
    held = (
        "SELECT r.name, p.action, p.scope FROM roles r JOIN role_permissions rp"
        " ON rp.role_id = r.id JOIN permissions p ON p.id = rp.permission_id"
        " WHERE p.model = 'tag' ORDER BY r.name, p.action, p.scope"
    )
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO tags (name, color) VALUES ('kept', '#123456')"))
            assert connection.execute(text("DELETE FROM permissions WHERE model = 'tag'")).rowcount
        again = run_init_db(url)
        assert again.returncode == 0, again.stdout
        with engine.connect() as connection:
            grants = fetch(connection, held)
    finally:
        engine.dispose()
    assert grants == [("admin", action, "all") for action in sorted(ACTIONS)], grants
