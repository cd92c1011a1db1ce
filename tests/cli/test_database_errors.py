"""A database error in `policy` and `python -m app.init_db` is one line on stderr (what
failed, where, the SQL state, the driver's words, a hint) and never the statement or its
parameters; `--debug` adds them, with the traceback. Real databases, real errors: one
without tables, a role without rights, a file that is not a database, a closed port."""

import io
import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.cli import main
from app.core.config import get_settings, with_driver
from tests.cli.conftest import OTHER_SETTINGS, Result
from tests.support.catalog import SERVER_URL, scratch_database
from tests.support.database import run_init_db

BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]
needs_postgres = pytest.mark.skipif(not SERVER_URL, reason="TEST_DATABASE_URL is not set")
# What the old message printed: the statement, its parameters, SQLAlchemy's link.
LEAKS = ("SELECT", "DELETE", "FROM ", "[SQL:", "[parameters:", "sqlalche.me")
CLOSED_PORT = "postgresql://postgres@127.0.0.1:1/nope"
_roles = itertools.count(1)


def run_policy(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Result:
    """Run `policy ARGS...` in this process on the database at `url` (a plain URL)."""
    out, err = io.StringIO(), io.StringIO()
    with monkeypatch.context() as patch:
        for key in [key for key in os.environ if key.startswith(OTHER_SETTINGS)]:
            patch.delenv(key)
        patch.setenv("DATABASE_URL", url)
        patch.setenv("ENVIRONMENT", "test")
        patch.setenv("SECRET_KEY", "test-secret-key-of-at-least-32-bytes")
        get_settings.cache_clear()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main(list(args))
        finally:
            get_settings.cache_clear()
    return Result(code, out.getvalue(), err.getvalue())


def one_line(err: str) -> str:
    """The one line on stderr, checked to say nothing of the statement."""
    lines = err.splitlines()
    assert len(lines) == 1, err[:2000]
    assert not [leak for leak in LEAKS if leak in lines[0]], lines[0]
    assert "Hint: " in lines[0], lines[0]
    return lines[0]


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A database that exists but holds no table: (plain URL, how the line names it)."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        create_engine(f"sqlite:///{path}").connect().close()  # an empty SQLite file
        yield f"sqlite:///{path}", f"SQLite file {path}"
    else:
        assert SERVER_URL
        with scratch_database(SERVER_URL, "notables") as url:
            found = make_url(url)
            yield (
                url,
                f"PostgreSQL at {found.host}:{found.port or 5432} (database {found.database!r})",
            )


def state_of(url: str) -> tuple[str, str]:
    """The code and the driver's words for a missing table on the database at `url`."""
    if url.startswith("sqlite"):
        return "SQLITE_ERROR: ", "no such table: "
    return "SQL state 42P01: ", " does not exist"


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("sync",), "policy sync"),
        (("sync", "--dry-run"), "policy sync"),
        (("lint",), "policy lint"),
        (("show", "demo"), "policy show"),
        (("audit", "prune", "--before", "2020-01-01"), "policy audit prune"),
        (("audit-export", "--before", "2020-01-01"), "policy audit-export"),
        (("audit-prune", "--before", "2020-01-01", "--yes"), "policy audit-prune"),
    ],
)
def test_a_database_without_tables_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch, empty: tuple[str, str], args: tuple[str, ...], what: str
) -> None:
    url, target = empty
    result = run_policy(monkeypatch, url, *args)
    assert result.code == 1, result.err
    assert result.out == ""
    line = one_line(result.err)
    code, words = state_of(url)
    assert line.startswith(f"{what}: database error on {target}: {code}")
    assert words in line
    assert line.endswith(
        "Hint: the tables are missing or older than the code: run python -m app.init_db."
    )


@pytest.mark.parametrize("args", [("--debug", "sync"), ("sync", "--debug")])
def test_debug_adds_the_statement_and_the_traceback(
    monkeypatch: pytest.MonkeyPatch, empty: tuple[str, str], args: tuple[str, ...]
) -> None:
    url, _ = empty
    plain = one_line(run_policy(monkeypatch, url, "sync").err)
    result = run_policy(monkeypatch, url, *args)
    assert result.code == 1
    first, rest = result.err.split("\n", 1)
    assert first == plain
    assert "Traceback (most recent call last):" in rest
    assert re.search(r"\[SQL: SELECT .*\s+FROM ", rest), rest[-2000:]


def test_an_unreachable_server_is_said_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_policy(monkeypatch, CLOSED_PORT, "show", "demo")
    assert result.code == 1
    line = one_line(result.err)
    assert line.startswith(
        "policy show: cannot reach PostgreSQL at 127.0.0.1:1 (database 'nope'): "
        "psycopg.OperationalError: connection failed: "
    )
    assert line.endswith(
        "Hint: check that the server is running and that DATABASE_URL "
        "(or POSTGRES_HOST/PORT/USER/PASSWORD/DB) is right."
    )


@pytest.fixture
def noise(tmp_path: Path) -> Path:
    """A file that is not a SQLite database (nor empty, which SQLite would take for one)."""
    path = tmp_path / "noise.db"
    path.write_bytes(bytes(range(256)) * 16)
    return path


def test_a_file_that_is_not_a_database(monkeypatch: pytest.MonkeyPatch, noise: Path) -> None:
    said = f"database error on SQLite file {noise}: SQLITE_NOTADB: file is not a database. Hint: "
    result = run_policy(monkeypatch, f"sqlite:///{noise}", "lint")
    assert result.code == 1
    assert one_line(result.err).startswith(f"policy lint: {said}")

    ran = run_init_db(f"sqlite:///{noise}")
    assert ran.returncode == 1
    assert ran.stdout == ""
    line = one_line(ran.stderr)
    assert line.startswith(f"init_db: {said}")
    assert "SQLITE_PATH" in line


def test_init_db_cannot_reach_the_server_in_one_line() -> None:
    """The old wording stays: where it looked, and what to check."""
    result = run_init_db(CLOSED_PORT)
    assert result.returncode == 1
    assert result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("init_db: cannot reach PostgreSQL at 127.0.0.1:1 (database 'nope'): ")
    assert "Connection refused" in line
    assert "check that the server is running and that DATABASE_URL" in line


@contextmanager
def role_without_rights() -> Iterator[str]:
    """A PostgreSQL role that may sign in and do little else (it may CREATE in no schema)."""
    assert SERVER_URL
    name = f"t_norights_{os.getpid()}_{next(_roles)}"
    admin = create_engine(
        with_driver(SERVER_URL, asynchronous=False),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        try:
            yield name
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


@needs_postgres
def test_init_db_without_rights_fails_in_one_line_and_debug_shows_the_statement() -> None:
    assert SERVER_URL
    with role_without_rights() as role, scratch_database(SERVER_URL, "norights") as url:
        as_role = make_url(url).set(username=role, password=None)
        target = f"{as_role.host}:{as_role.port or 5432} (database {as_role.database!r})"
        as_role_url = as_role.render_as_string(hide_password=False)
        result = run_init_db(as_role_url)
        assert result.returncode == 1
        assert result.stdout == ""
        line = one_line(result.stderr)
        assert line.startswith(
            f"init_db: database error on PostgreSQL at {target}: SQL state 42501: permission denied"
        )
        assert line.endswith(
            "Hint: the database user lacks a privilege: grant it, or connect as one who has it."
        )

        debug = run_init_db(as_role_url, "--debug")
        assert debug.returncode == 1
        first, rest = debug.stderr.split("\n", 1)
        assert first == line
        assert "Traceback (most recent call last):" in rest
        assert re.search(r"\[SQL: \s*CREATE TABLE alembic_version", rest), rest[-2000:]
