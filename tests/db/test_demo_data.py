"""`python -m app.init_db --demo-data` fills a fresh database with a sample company, of which
each sign-in sees its own part, and refuses a database that has business records."""

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.config import PROJECT_ROOT
from app.core.database import create_sync_engine
from tests.support import database, server
from tests.support.catalog import BUSINESS_TABLES, SERVER_URL, dump_rows, scratch_database
from tests.support.database import run_init_db

BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]
# The tables the API lists; task_tags is read as the tasks' `tag_ids`.
LISTED = [table for table in BUSINESS_TABLES if table != "task_tags"]
# What differs between two loads of the same data: when, and the salted password hashes.
MOMENTS = frozenset({"created_at", "updated_at", "at", "hashed_password"})
Dump = dict[str, list[tuple[Any, ...]]]


def dump(url: str, skip: frozenset[str] = frozenset()) -> Dump:
    engine = create_sync_engine(database.test_settings(database_url=url))
    try:
        with engine.connect() as connection:
            return dump_rows(connection, skip)
    finally:
        engine.dispose()


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_sync_engine(database.test_settings(database_url=url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(sql), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def assert_refused(run: subprocess.CompletedProcess[str], *said: str) -> None:
    """One line on stderr saying why, status 1, and no traceback."""
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "--demo-data refused" in lines[0] and "nothing changed" in lines[0], lines[0]
    for words in said:
        assert words in lines[0], lines[0]


@dataclass
class Loaded:
    """A fresh database loaded with the demo data, then given `--demo-data` again, then
    initialised without it; the rows after each run."""

    url: str
    first: subprocess.CompletedProcess[str]
    again: subprocess.CompletedProcess[str]
    plain: subprocess.CompletedProcess[str]
    after_first: Dump
    after_again: Dump
    after_plain: Dump


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    def load(url: str) -> Loaded:
        first = run_init_db(url, "--demo-data")
        assert first.returncode == 0, first.stdout + first.stderr
        after_first = dump(url)
        again = run_init_db(url, "--demo-data")
        after_again = dump(url)
        plain = run_init_db(url)
        return Loaded(url, first, again, plain, after_first, after_again, dump(url))

    if request.param == "postgresql":
        assert SERVER_URL
        with scratch_database(SERVER_URL, "demo", create=False) as url:
            yield load(url)
    else:
        yield load(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'app.db'}")


def test_every_business_table_has_records(loaded: Loaded) -> None:
    assert "Traceback" not in loaded.first.stdout + loaded.first.stderr
    assert "demo / demo123" in loaded.first.stdout
    for table in BUSINESS_TABLES:
        assert loaded.after_first[table], f"{table} is empty"
    groups = query(
        loaded.url,
        "SELECT g.name, u.username FROM groups g JOIN user_groups ug ON ug.group_id = g.id "
        "JOIN users u ON u.id = ug.user_id",
    )
    teams: dict[str, set[str]] = {}
    for group, username in groups:
        teams.setdefault(group, set()).add(username)
    assert len(teams) == 2 and {"demo"} < teams["demo-team"], teams
    assert len(query(loaded.url, "SELECT id FROM users")) > 2


def test_a_second_load_is_refused_and_changes_nothing(loaded: Loaded) -> None:
    assert_refused(loaded.again, "business records")
    assert loaded.after_again == loaded.after_first


def test_init_db_without_the_flag_leaves_the_demo_data_alone(loaded: Loaded) -> None:
    assert loaded.plain.returncode == 0, loaded.plain.stdout + loaded.plain.stderr
    assert "nothing to change" in loaded.plain.stdout
    assert loaded.after_plain == loaded.after_first


def test_the_policy_lints_clean(loaded: Loaded) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTGRES_")}
    lint = subprocess.run(
        [sys.executable, "-m", "app.cli", "lint"],
        cwd=PROJECT_ROOT,
        env=env | {"DATABASE_URL": loaded.url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "role manager is held by nobody" not in lint.stdout


def signed_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


def listed(client: httpx.Client, path: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/{path}", params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()


def test_admin_and_demo_see_different_parts(loaded: Loaded) -> None:
    """Admin lists every record; demo their own and demo-team's, and none of the other
    group's; the dashboards differ."""
    ((demo_id,),) = query(loaded.url, "SELECT id FROM users WHERE username = 'demo'")
    teams = dict(query(loaded.url, "SELECT name, id FROM groups"))
    other = next(group_id for name, group_id in teams.items() if name != "demo-team")
    with server.serve(database.test_settings(database_url=loaded.url)) as base:
        admin = signed_in(base, "admin", "admin123")
        demo = signed_in(base, "demo", "demo123")
        for path in LISTED:
            everything = listed(admin, path)
            assert everything["total"] == len(loaded.after_first[path]), path
            seen = listed(demo, path)
            assert seen["total"] == len(seen["items"]) > 0, path
            if path == "tags":  # every user reads every tag
                assert seen["total"] == everything["total"]
                continue
            ((expected,),) = query(
                loaded.url,
                f"SELECT count(*) FROM {path} "
                "WHERE owner_user_id = :demo OR owner_group_id = :team",
                demo=demo_id,
                team=teams["demo-team"],
            )
            assert seen["total"] == expected < everything["total"], path
            owners = {(item["owner_user_id"], item["owner_group_id"]) for item in seen["items"]}
            assert any(user != demo_id for user, _ in owners), f"{path}: only demo's own"
            assert all(group != other for _, group in owners), f"{path}: the other group's"
            assert any(item["owner_group_id"] == other for item in everything["items"]), path
        pages = [client.get("/dashboard") for client in (admin, demo)]
    assert [page.status_code for page in pages] == [200, 200]
    assert pages[0].text != pages[1].text


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            "INSERT INTO users (username, email, hashed_password) "
            "VALUES ('Priya', 'someone@example.org', 'x')",
            "user priya",
        ),
        ("INSERT INTO groups (name) VALUES ('platform-team')", "group platform-team"),
        ("DELETE FROM users WHERE username = 'demo'", "user demo"),
    ],
    ids=["a-user-it-adds", "a-group-it-adds", "an-account-it-needs"],
)
def test_a_clash_with_the_accounts_is_refused(tmp_path: Path, change: str, said: str) -> None:
    """A database without business records is still refused when a user or group the demo
    data adds exists, or one it builds on is gone; nothing changes."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert run_init_db(url).returncode == 0
    query(url, change)
    before = dump(url)
    assert_refused(run_init_db(url, "--demo-data"), said)
    assert dump(url) == before


def test_every_load_is_the_same(tmp_path: Path) -> None:
    """The data is written out, not drawn at random: two loads differ only in when."""
    loads = []
    for name in ("one", "two"):
        url = f"sqlite:///{tmp_path / name}.db"
        assert run_init_db(url, "--demo-data").returncode == 0
        loads.append(dump(url, MOMENTS))
    assert loads[0] == loads[1]
