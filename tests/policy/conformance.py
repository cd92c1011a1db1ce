"""The conformance corpus (`policy/conformance/*.toml`) read and run against a live server.

A case names conditions, the grants of the one role its subject holds, rows (with hostile
values, NULLs, parents missing or named by a NULL key), a fixed `now`, and what the subject
may read, update and delete (by row key), and what creates answer. Rows are written straight
into the database (a missing parent with its foreign key checks off); then, over HTTP as
the subject: the list and its `total`, every row's GET, PUT and DELETE; and in process, the
SQL filter of each action against the same decisions.
"""

import asyncio
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select, text

from app.core.config import Settings
from app.core.security import password_hasher
from app.models import (
    Condition,
    Group,
    Permission,
    Role,
    User,
    role_permissions,
    task_tags,
    user_groups,
    user_roles,
)
from app.resources import REGISTRY, RESOURCES
from tests.support import database

CORPUS = Path(__file__).resolve().parents[2] / "policy" / "conformance"
DEFAULT_NOW = "2026-01-15T12:00:00Z"
PASSWORD = "conformance-subject-7"
BY_MODEL = {res.policy_model: res for res in RESOURCES}
MISSING = 2_000_000_000  # the id a `missing` parent is given: no row has it


@dataclass
class Case:
    """One case of the corpus, as written."""

    name: str
    source: str
    model: str
    grants: list[str]
    rows: dict[str, dict[str, dict[str, Any]]]
    conditions: dict[str, str] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    now: str = DEFAULT_NOW
    read: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    put: dict[str, Any] = field(default_factory=dict)
    create: list[dict[str, Any]] = field(default_factory=list)
    covers: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return BY_MODEL[self.model].path

    @property
    def when(self) -> datetime:
        return datetime.fromisoformat(self.now.replace("Z", "+00:00")).astimezone(UTC)


def load_cases() -> list[Case]:
    """Every case of every file of the corpus, in file order."""
    cases = []
    for path in sorted(CORPUS.glob("*.toml")):
        for raw in tomllib.loads(path.read_text())["case"]:
            expect = raw.pop("expect", {})
            cases.append(Case(source=path.name, **raw, **expect))
    return cases


@dataclass
class Seeded:
    """What a case's rows became: ids by key, the subject's id, the keys of its model's rows."""

    ids: dict[str, int]
    subject: int
    keys: list[str]


@cache
def _references() -> dict[str, tuple[str, str]]:
    """Each table's relations by name (`tasks.project`): relation -> (column, table)."""
    found: dict[str, tuple[str, str]] = {}
    for res in RESOURCES:
        for column in res.model.__table__.columns:
            for key in column.foreign_keys:
                if column.name.endswith("_id"):
                    found[f"{res.path}.{column.name[:-3]}"] = (column.name, key.column.table.name)
    return found


def _value(column: Any, value: Any) -> Any:
    """A TOML value as the column stores it (times and dates from strings, decimals exact)."""
    if value is None or not isinstance(value, str | float | int) or isinstance(value, bool):
        return value
    kind = getattr(column.type, "impl", column.type).python_type
    if kind is datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    if kind is Decimal:
        return Decimal(str(value))
    if kind.__name__ == "date" and isinstance(value, str):
        return datetime.fromisoformat(value).date()
    return value


def seed(settings: Settings, case: Case) -> Seeded:
    """Write the case's groups, subject, role, conditions, permissions and rows."""
    engine = database._engine(settings)
    relations = _references()
    ids: dict[str, int] = {"missing": MISSING}
    hasher = password_hasher(settings.argon2_time_cost, settings.argon2_memory_cost)
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if not postgres:
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")  # outside a transaction
            connection.commit()
        with connection.begin():
            if postgres:  # a missing parent: the suite's URL is a superuser
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            for name in ("team", "outside", *case.groups):
                if name not in ids:
                    ids[name] = _insert(connection, Group.__table__, {"name": f"case-{name}"})
            ids["me"] = subject = _insert(
                connection,
                User.__table__,
                {
                    "username": "subject",
                    "email": "subject@example.com",
                    "hashed_password": hasher.hash(PASSWORD),
                    "is_active": True,
                },
            )
            ids["other"] = _insert(
                connection,
                User.__table__,
                {"username": "other", "email": "other@example.com", "hashed_password": "!"},
            )
            for name in case.groups:
                connection.execute(insert(user_groups), {"user_id": subject, "group_id": ids[name]})
            role = _insert(connection, Role.__table__, {"name": "case-role"})
            connection.execute(insert(user_roles), {"user_id": subject, "role_id": role})
            conditions = {}
            for key, expression in case.conditions.items():
                model, _, name = key.rpartition(".")
                row = {"model": model or case.model, "name": name, "expression": expression}
                conditions[key] = _insert(connection, Condition.__table__, row)
            for grant in case.grants:
                permission = _permission(connection, grant, conditions)
                connection.execute(
                    insert(role_permissions), {"role_id": role, "permission_id": permission}
                )
            keys = []
            for path, rows in case.rows.items():
                table = REGISTRY[path].model.__table__
                for key, fields in rows.items():
                    values = _row(path, key, table, fields, ids, relations)
                    tags = values.pop("tags", None)
                    ids[key] = _insert(connection, table, values)
                    for tag in tags or ():
                        connection.execute(
                            insert(task_tags), {"task_id": ids[key], "tag_id": ids[tag]}
                        )
                    if path == case.path:
                        keys.append(key)
        if not postgres:
            connection.exec_driver_sql("PRAGMA foreign_keys = ON")
            connection.commit()
    asyncio.run(_sync(settings))
    return Seeded(ids, subject, keys)


def _row(
    path: str,
    key: str,
    table: Table,
    fields: dict[str, Any],
    ids: dict[str, int],
    relations: dict[str, tuple[str, str]],
) -> dict[str, Any]:
    values: dict[str, Any] = {"owner_user_id": ids["other"], "owner_group_id": None}
    values |= {name: column.default.arg for name, column in table.c.items() if _plain(column)}
    values |= {name: _filler(column, key) for name, column in table.c.items() if _required(column)}
    for name, value in fields.items():
        if name == "owner":
            values["owner_user_id"] = None if value == "none" else ids[value]
        elif name == "group":
            values["owner_group_id"] = None if value == "none" else ids[value]
        elif name == "tags":
            values["tags"] = value
        elif f"{path}.{name}" in relations:
            column, _ = relations[f"{path}.{name}"]
            values[column] = None if value == "none" else ids[value]
        else:
            values[name] = _value(table.c[name], value)
    return values


def _required(column: Any) -> bool:
    """A column a row must give that a case need not (a title, a name, a day)."""
    return (
        not column.nullable
        and column.default is None
        and column.server_default is None
        and not column.foreign_keys
        and column.name != "id"
    )


def _filler(column: Any, key: str) -> Any:
    kind = getattr(column.type, "impl", column.type).python_type
    if kind is str:
        return f"{key} {column.name}"[: getattr(column.type, "length", None) or 200]
    if kind is int:
        return 1
    return _value(column, "2026-01-01")


def _plain(column: Any) -> bool:
    default = column.default
    return default is not None and default.is_scalar and column.name not in ("id",)


def _insert(connection: Any, table: Table, values: dict[str, Any]) -> int:
    now = datetime.now(UTC)
    values = {"created_at": now, "updated_at": now, **values}
    values = {name: value for name, value in values.items() if name in table.c}
    return int(connection.execute(insert(table).values(values).returning(table.c.id)).scalar_one())


def _permission(connection: Any, grant: str, conditions: dict[str, int]) -> int:
    """The id of `model:action:scope[condition]`, made when it does not exist."""
    name, _, rest = grant.partition("[")
    model, action, scope = name.split(":")
    condition = None
    if rest:
        key = rest.rstrip("]")
        condition = conditions.get(key, conditions.get(f"{model}.{key}"))
        assert condition is not None, f"{grant}: no condition {key}"
    table = Permission.__table__
    found = connection.execute(
        select(table.c.id).where(
            table.c.model == model,
            table.c.action == action,
            table.c.scope == scope,
            table.c.condition_id.is_(None)
            if condition is None
            else table.c.condition_id == condition,
        )
    ).scalar()
    if found is not None:
        return int(found)
    row = {"model": model, "action": action, "scope": scope, "condition_id": condition}
    return _insert(connection, table, row)


async def _sync(settings: Settings) -> None:
    from app.crud.policy import sync_policy
    from tests.policy.population import open_db

    async with open_db(settings) as sessions, sessions() as session, session.begin():
        await sync_policy(session)


def body_of(case: Case, fields: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    """A JSON body naming rows by key (`project = "p1"` becomes `project_id`)."""
    relations = _references()
    body: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "owner":
            body["owner_user_id"] = ids[value]
        elif name == "group":
            body["owner_group_id"] = ids[value]
        elif name == "tags":
            body["tag_ids"] = [ids[tag] for tag in value]
        elif f"{case.path}.{name}" in relations:
            body[relations[f"{case.path}.{name}"][0]] = ids[value]
        else:
            body[name] = value
    return body
