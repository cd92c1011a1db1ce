"""The scale benchmark's organisation, written in SQL in seconds: 10,000 users in 500
groups, 1,000 roles of 60 grants and three roles per user (`policy sync` then makes it about
100,000 Casbin lines); and its scratch databases."""

import random
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text

from app.core.config import with_driver

USERS, GROUPS, ROLES, GRANTS, ROLES_PER_USER = 10_000, 500, 1_000, 60, 3
SEED = 20261206


def engine_for(url: str, **options: Any) -> Engine:
    return create_engine(make_url(with_driver(url, asynchronous=False)), **options)


def database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def recreate(server: str, names: list[str], create: bool = True) -> None:
    """Drop the databases `names` (WITH FORCE) and, with `create`, make them afresh."""
    admin = engine_for(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def add_organisation(url: str) -> None:
    """Write the users, groups, roles and their links in SQL (no Casbin line yet)."""
    numbered = "SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM {} WHERE {} LIKE '{}%'"
    users = numbered.format("users", "username", "org-user-")
    groups = numbered.format("groups", "name", "org-group-")
    roles = numbered.format("roles", "name", "org-role-")
    statements = [
        f"INSERT INTO groups (name) SELECT 'org-group-' || g FROM generate_series(1, {GROUPS}) g",
        f"INSERT INTO roles (name) SELECT 'org-role-' || g FROM generate_series(1, {ROLES}) g",
        f"""INSERT INTO users (username, email, hashed_password)
            SELECT 'org-user-' || g, 'org-user-' || g || '@example.com',
                   (SELECT hashed_password FROM users WHERE username = 'admin')
            FROM generate_series(1, {USERS}) g""",
        "UPDATE users SET owner_user_id = id WHERE username LIKE 'org-user-%'",
        f"""INSERT INTO user_groups (user_id, group_id)
            SELECT u.id, g.id FROM ({users}) u JOIN ({groups}) g ON g.n = u.n % {GROUPS}""",
        f"""INSERT INTO user_roles (user_id, role_id)
            SELECT u.id, r.id FROM ({users}) u
            CROSS JOIN generate_series(0, {ROLES_PER_USER - 1}) k
            JOIN ({roles}) r ON r.n = (u.n + k * 337) % {ROLES}""",
    ]
    engine = engine_for(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
        role_ids = connection.execute(text(f"SELECT id FROM ({roles}) r ORDER BY id")).scalars()
        permissions = connection.execute(text("SELECT id FROM permissions ORDER BY id")).scalars()
        pool, rng = list(permissions), random.Random(SEED)
        pairs = [(role, grant) for role in role_ids for grant in rng.sample(pool, GRANTS)]
        connection.execute(
            text(
                "INSERT INTO role_permissions (role_id, permission_id)"
                " SELECT * FROM unnest(CAST(:r AS integer[]), CAST(:p AS integer[]))"
            ),
            {"r": [role for role, _ in pairs], "p": [grant for _, grant in pairs]},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def remove_organisation(url: str) -> None:
    """Delete the organisation's links (grants, role holdings, memberships) in SQL."""
    roles = "role_id IN (SELECT id FROM roles WHERE name LIKE 'org-role-%')"
    users = "user_id IN (SELECT id FROM users WHERE username LIKE 'org-user-%')"
    engine = engine_for(url)
    with engine.begin() as connection:
        for table, rows in (
            ("role_permissions", roles),
            ("user_roles", users),
            ("user_groups", users),
        ):
            connection.execute(text(f"DELETE FROM {table} WHERE {rows}"))
    engine.dispose()


def casbin_lines(url: str) -> int:
    engine = engine_for(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM casbin_rule")).scalar_one()
    engine.dispose()
    return int(count)
