"""The benchmark's PostgreSQL databases: many tasks over 1,000 users, shaped like production.

`build(server_url, name, tasks)` makes (or reuses, when it was built the same way) a
database holding the seeded accounts plus 1,000 users with the `user` role, one project
each, ten tags and `tasks` tasks: demo owns the first 1,000, the group demo-team the next
1,000, the bench users the rest. Titles draw from a word list (`q=kilo` matches one in
twelve); `created_at` is spread over the past. Rows are written in SQL, in chunks with a
progress bar, then the policy is synced and the tables analysed.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
USERS = 1_000
CHUNK = 100_000
VERSION = "crud bench v4"  # v4: migration 0003 (search indexes over lower())
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima"


def bench_arguments(description: str, quick: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: a short run, rounds, seconds, the database server."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument(
        "--server",
        default=os.environ.get("TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    return parser


def app_environment(url: str) -> dict[str, str]:
    """Return the environment the app and its tools run with against `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
    # Production settings, but uvicorn's plain log (`--no-access-log` in `serving`): a JSON
    # access line per request is what `bench_observability.py` measures, not the others.
    production = {"ENVIRONMENT": "production", "LOG_FORMAT": "text"}
    return env | production | {"DATABASE_URL": url, "PYTHONPATH": str(ROOT)}


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r  {label} [{'#' * filled}{' ' * (width - filled)}] {done:,}/{total:,}", end="")
    print() if done >= total else sys.stdout.flush()


def build(server_url: str, name: str, tasks: int, secret_key: str) -> str:
    """Return the URL of database `name` with `tasks` tasks, building it when needed."""
    url = make_url(server_url).set(database=name)
    marker = f"{VERSION}: {tasks} tasks"
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        found = connection.execute(
            text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"
            ),
            {"n": name},
        ).first()
        fresh = found is None or found[0] != marker
        if fresh:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    plain = url.render_as_string(hide_password=False)
    env = app_environment(plain) | {"SECRET_KEY": secret_key}
    # Migrations and seeding are idempotent: a reused database gets new migrations too.
    subprocess.run(
        [sys.executable, "-m", "app.init_db"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if fresh:
        started = time.monotonic()
        print(f"building {name}: {tasks:,} tasks")
        # Like a restore: rows first, then the list indexes (migrations 0002, 0003) built
        # over them in one pass each (maintaining trigram indexes row by row is far slower).
        alembic = [sys.executable, "-m", "alembic"]
        subprocess.run([*alembic, "downgrade", "0001"], cwd=ROOT, env=env, check=True)
        engine = create_engine(url.set(drivername="postgresql+psycopg"))
        with engine.begin() as connection:
            fill(connection, tasks)
        engine.dispose()
        print("  indexing")
        subprocess.run([*alembic, "upgrade", "head"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [sys.executable, "-m", "app.cli", "sync"],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with admin.connect() as connection:
            connection.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'"))
        print(f"  built in {time.monotonic() - started:.0f} s")
    with create_engine(
        url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    ).connect() as connection:
        # Failed sign-ins of an earlier run (the login flood) would throttle this one's.
        connection.execute(text("DELETE FROM login_failures"))
        connection.execute(text("VACUUM ANALYZE"))
    admin.dispose()
    return plain


def fill(connection: Connection, tasks: int) -> None:
    """Write the users, memberships, projects, tags and tasks."""

    def run(sql: str, **values: object) -> Any:
        return connection.execute(text(sql), values)

    run(
        """INSERT INTO users (username, email, full_name, hashed_password)
        SELECT 'bench' || g, 'bench' || g || '@example.com', 'Bench User ' || g,
               (SELECT hashed_password FROM users WHERE username = 'demo')
        FROM generate_series(1, :n) g""",
        n=USERS,
    )
    run("UPDATE users SET owner_user_id = id WHERE username LIKE 'bench%'")
    run(
        """INSERT INTO user_roles (user_id, role_id)
        SELECT u.id, r.id FROM users u, roles r
        WHERE u.username LIKE 'bench%' AND r.name = 'user'"""
    )
    run(
        """INSERT INTO projects (name, owner_user_id)
        SELECT 'Project ' || u.username, u.id FROM users u ORDER BY u.id"""
    )
    run(
        """INSERT INTO tags (name, color)
        SELECT 'tag' || g, '#' || lpad(to_hex(g * 1000000), 6, '0') FROM generate_series(1, 10) g"""
    )
    ids = dict(run("SELECT username, id FROM users WHERE username IN ('demo', 'admin')").all())
    group = run("SELECT id FROM groups WHERE name = 'demo-team'").scalar_one()
    first_user = run("SELECT min(id) FROM users WHERE username LIKE 'bench%'").scalar_one()
    first_project = run("SELECT min(id) FROM projects").scalar_one()
    demo_project = run(
        "SELECT id FROM projects WHERE owner_user_id = :u", u=ids["demo"]
    ).scalar_one()
    for start in range(1, tasks + 1, CHUNK):
        stop = min(start + CHUNK - 1, tasks)
        run(
            f"""INSERT INTO tasks (project_id, title, status, priority, owner_user_id,
                                   owner_group_id, created_at, updated_at)
            SELECT CASE WHEN g <= 1000 THEN :demo_project
                        ELSE :first_project + (g % {USERS}) END,
                   (string_to_array(:words, ' '))[1 + g % 12] || ' task ' || g,
                   (ARRAY['todo', 'in_progress', 'done', 'blocked'])[1 + g % 4],
                   1 + g % 5,
                   CASE WHEN g <= 1000 THEN :demo
                        WHEN g <= 2000 THEN :first_user
                        ELSE :first_user + (g % {USERS}) END,
                   CASE WHEN g > 1000 AND g <= 2000 THEN :grp END,
                   now() - make_interval(secs => g * 30), now() - make_interval(secs => g * 30)
            FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) g""",
            demo=ids["demo"],
            first_user=first_user,
            grp=group,
            demo_project=demo_project,
            first_project=first_project,
            words=WORDS,
            start=start,
            stop=stop,
        )
        progress("tasks", stop, tasks)
    run(
        """INSERT INTO task_tags (task_id, tag_id)
        SELECT t.id, tg.id FROM tasks t, tags tg
        WHERE (t.id % 10 = 0 OR t.owner_user_id = :demo) AND tg.id % 5 < 2""",
        demo=ids["demo"],
    )
