"""A database error said in one line, for `policy` and `python -m app.init_db`: what failed
on which database, the SQL state, the driver's first line and a hint. Never the statement
or its parameters (one DELETE of 101,290 of them once printed 2.5 MB); `--debug` adds the
whole exception and its traceback.

Errors are read by their attributes (psycopg's and asyncpg's `sqlstate`, sqlite3's
`sqlite_errorname`), so this module imports no driver.
"""

import sys
import traceback

from sqlalchemy.engine import make_url

from app.core.config import Settings

# The sentence `init_db` has always ended an unreachable server's line with.
UNREACHABLE = (
    "check that the server is running and that DATABASE_URL "
    "(or POSTGRES_HOST/PORT/USER/PASSWORD/DB) is right"
)
CANNOT_OPEN = "check that DATABASE_URL (or SQLITE_PATH) names a file that can be opened"
RUN_INIT_DB = "the tables are missing or older than the code: run python -m app.init_db"
# (SQL states, or the start of one; words of the driver's message; the hint), first match
HINTS = (
    (("08", "28", "SQLITE_CANTOPEN"), ("connection failed", "could not connect"), UNREACHABLE),
    (
        ("SQLITE_NOTADB", "SQLITE_CORRUPT"),
        (),
        "check that DATABASE_URL (or SQLITE_PATH) names this app's database, and that it is whole",
    ),
    (("3D000",), (), "the database does not exist: run python -m app.init_db (it creates it)"),
    (("42P01", "42703"), ("no such table", "no such column"), RUN_INIT_DB),
    (
        ("54000",),
        ("number of parameters", "too many sql variables", "query arguments cannot exceed"),
        "a statement went past a database limit (too many bind parameters?): "
        "a bug, please report it",
    ),
    (
        ("40001", "40P01", "SQLITE_BUSY", "SQLITE_LOCKED"),
        ("database is locked",),
        "another transaction held or changed the same rows: run the command again",
    ),
    (
        ("23", "SQLITE_CONSTRAINT"),
        (),
        "a constraint refused the change (another process may have written the same rows): "
        "run the command again, or with --debug for the statement",
    ),
    (("42501",), (), "the database user lacks a privilege: grant it, or connect as one who has it"),
)
LONGEST = 300  # characters of the driver's message (it may quote a value)


def describe_target(settings: Settings) -> str:
    """The database the settings name, in words (`PostgreSQL at host:5432 (database 'x')`)."""
    url = make_url(settings.sync_database_url)
    if settings.is_sqlite:
        return f"SQLite file {url.database}"
    return f"PostgreSQL at {url.host}:{url.port or 5432} (database {url.database!r})"


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's: `exc.orig`, and under an adapter's
    (asyncpg's in SQLAlchemy) its `orig` or `__cause__`; `exc` itself without one."""
    found = getattr(exc, "orig", None) or exc
    for inner in (getattr(found, "orig", None), found.__cause__):
        if isinstance(inner, BaseException) and _state(inner):
            return inner
    return found


def _state(error: BaseException) -> str | None:
    for name in ("sqlstate", "pgcode", "sqlite_errorname"):
        if isinstance(value := getattr(error, name, None), str) and value:
            return value
    return None


def failure_line(what: str, target: str, exc: BaseException) -> str:
    """Say in one line that `what` (`policy sync`) failed on `target`, and why."""
    error = driver_error(exc)
    state = _state(error)
    lines = str(error).strip().splitlines() or [error.__class__.__name__]
    message = lines[0].rstrip(".") if len(lines[0]) <= LONGEST else lines[0][:LONGEST] + "..."
    said = message.lower()
    hint = next(
        (
            found
            for states, words, found in HINTS
            if (state and state.startswith(states)) or any(word in said for word in words)
        ),
        "run it again with --debug for the statement",
    )
    # No statement and no SQL state: the driver failed before it could send one.
    unreachable = hint is UNREACHABLE or (state is None and getattr(exc, "statement", "") is None)
    if unreachable:
        hint = CANNOT_OPEN if target.startswith("SQLite") else UNREACHABLE
    if state:  # sqlite3 names its codes (SQLITE_ERROR); the others are SQLSTATEs
        code = state if state.startswith("SQLITE_") else f"SQL state {state}"
    else:
        code = f"{type(error).__module__}.{type(error).__name__}"
    verb = "cannot reach" if unreachable else "database error on"
    return f"{what}: {verb} {target}: {code}: {message}. Hint: {hint}."


def report_failure(what: str, target: str, exc: BaseException, *, debug: bool) -> None:
    """Print `failure_line` to stderr; with `debug`, the exception and its traceback too
    (SQLAlchemy's text of it: the statement, and at most 100 of its parameters)."""
    print(failure_line(what, target, exc), file=sys.stderr)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
