"""Random users, groups, roles and owned records written straight into a test database."""

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.database import create_app_engine
from app.crud.policy import sync_policy
from app.db import create_sessionmaker
from app.init_db import EXTRA_PERMISSIONS
from app.models import (
    ACTIONS,
    SCOPES,
    Comment,
    Customer,
    Group,
    LoginSession,
    Permission,
    Project,
    Role,
    Tag,
    Task,
    TimeEntry,
    User,
    role_permissions,
    user_groups,
    user_roles,
)
from app.resources import PERMISSION_MODELS, REGISTRY, RESOURCES, Resource
from app.schemas.examples import example_body

T = TypeVar("T")

# Records owned by nobody, by a user, by a group, or by both, in these proportions.
NO_OWNER = 0.2
UNIQUE = itertools.count(1)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


@asynccontextmanager
async def open_db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield a session factory on the app's own async engine; dispose of it afterwards."""
    engine = create_app_engine(settings)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@dataclass
class Population:
    """What was generated: ids of the users, groups and roles, and who is in which group."""

    user_ids: list[int]
    group_ids: list[int]
    role_ids: list[int]
    memberships: dict[int, set[int]] = field(default_factory=dict)
    grants: dict[int, set[int]] = field(default_factory=dict)


def _owners(rng: random.Random, user_ids: list[int], group_ids: list[int]) -> dict[str, Any]:
    """Pick random owner fields (either may be NULL)."""
    owner_user = None if rng.random() < NO_OWNER else rng.choice(user_ids)
    owner_group = None if rng.random() < NO_OWNER + 0.2 else rng.choice(group_ids)
    return {"owner_user_id": owner_user, "owner_group_id": owner_group}


async def populate(
    session: AsyncSession,
    rng: random.Random,
    *,
    users: int = 18,
    groups: int = 5,
    roles: int = 5,
    records: int = 30,
) -> Population:
    """Add random groups, roles, users, memberships and owned records; sync the policy."""
    tag = next(UNIQUE)
    scopes = {
        pid: scope
        for pid, scope in await session.execute(
            select(Permission.id, Permission.scope).order_by(Permission.id)
        )
    }
    assert len(scopes) == len(PERMISSION_MODELS) * len(ACTIONS) * len(SCOPES) + len(
        EXTRA_PERMISSIONS
    )
    admin_role = await session.scalar(select(Role.id).where(Role.name == "admin"))

    new_groups = [Group(name=f"pg{tag}-{i}") for i in range(groups)]
    new_roles = [Role(name=f"pr{tag}-{i}") for i in range(roles)]
    session.add_all([*new_groups, *new_roles])
    await session.flush()
    group_ids = list(await session.scalars(select(Group.id).order_by(Group.id)))
    role_ids = list(await session.scalars(select(Role.id).order_by(Role.id)))

    grants: dict[int, set[int]] = {}
    for role in new_roles:
        # A density per role, so that some roles are sparse and some hold most scopes.
        # `all` is rarer, or most users would simply see everything.
        density = rng.uniform(0.03, 0.3)
        grants[role.id] = {
            pid
            for pid, scope in scopes.items()
            if rng.random() < (density / 4 if scope == "all" else density)
        }
    rows = [{"role_id": r, "permission_id": p} for r, ps in grants.items() for p in ps]
    if rows:
        await session.execute(insert(role_permissions), rows)

    new_users = [
        User(
            username=f"pu{tag}-{i}",
            email=f"pu{tag}-{i}@example.com",
            hashed_password="not-a-hash",
        )
        for i in range(users)
    ]
    session.add_all(new_users)
    await session.flush()
    user_ids = list(await session.scalars(select(User.id).order_by(User.id)))

    memberships: dict[int, set[int]] = {}
    role_rows: list[dict[str, int]] = []
    group_rows: list[dict[str, int]] = []
    for user in new_users:
        # Few admins, for the same reason.
        candidates = [r for r in role_ids if r != admin_role or rng.random() < 0.2]
        held = rng.sample(candidates, rng.randint(0, min(3, len(candidates))))
        role_rows += [{"user_id": user.id, "role_id": r} for r in held]
        # The last group stays empty: records it owns are readable only through `all`.
        joined = set(rng.sample(group_ids[:-1], rng.randint(0, min(3, len(group_ids) - 1))))
        memberships[user.id] = joined
        group_rows += [{"user_id": user.id, "group_id": g} for g in joined]
        # Mostly owned by itself, as the API does it; sometimes by anyone or no one.
        owners = _owners(rng, user_ids, group_ids)
        if rng.random() < 0.6:
            owners["owner_user_id"] = user.id
        user.owner_user_id = owners["owner_user_id"]
        user.owner_group_id = owners["owner_group_id"]
    if role_rows:
        await session.execute(insert(user_roles), role_rows)
    if group_rows:
        await session.execute(insert(user_groups), group_rows)

    # Seeded permissions, roles and groups get random owners too.
    for model in (Permission, Role, Group):
        for row in await session.scalars(select(model).order_by(model.id)):
            if rng.random() < 0.5:
                for name, value in _owners(rng, user_ids, group_ids).items():
                    setattr(row, name, value)

    def owned(make: Any, count: int = records) -> list[Any]:
        made = [make(i) for i in range(count)]
        for row in made:
            for name, value in _owners(rng, user_ids, group_ids).items():
                setattr(row, name, value)
        session.add_all(made)
        return made

    # More roles and groups, which hold nothing, so that every model has enough records.
    owned(lambda i: Role(name=f"pr{tag}-extra{i}"), records - len(role_ids))
    owned(lambda i: Group(name=f"pg{tag}-extra{i}"), records - len(group_ids))
    now = datetime.now(UTC)
    owned(lambda i: Customer(name=f"customer {tag}-{i}"))
    owned(lambda i: Tag(name=f"tag{tag}-{i}"))
    projects = owned(lambda i: Project(name=f"project {tag}-{i}"))
    await session.flush()
    tasks = owned(lambda i: Task(project_id=rng.choice(projects).id, title=f"task {i}"))
    await session.flush()
    owned(lambda i: Comment(task_id=rng.choice(tasks).id, body=f"comment {i}"))
    owned(
        lambda i: TimeEntry(
            task_id=rng.choice(tasks).id, spent_on=date(2024, 1, 1), minutes=rng.randint(1, 600)
        )
    )
    owned(
        lambda i: LoginSession(
            token_hash=f"{tag:08d}{i:056d}",
            user_id=rng.choice(user_ids),
            expires_at=now + timedelta(days=1),
            last_seen_at=now,
        )
    )
    await session.flush()
    for res in RESOURCES:
        if res.model not in MADE_ABOVE:
            await made_from_schema(session, res, tag, owned)
    await session.flush()
    await sync_policy(session)
    return Population(
        user_ids=user_ids,
        group_ids=group_ids,
        role_ids=role_ids,
        memberships=memberships,
        grants=grants,
    )


# The models populate() makes by hand; any other registered table gets records made from
# its create schema's example values (`made_from_schema`), so a new table is covered too.
MADE_ABOVE = (
    User,
    Permission,
    Role,
    Group,
    Customer,
    Tag,
    Project,
    Task,
    Comment,
    TimeEntry,
    LoginSession,
)


async def made_from_schema(
    session: AsyncSession, res: Resource, tag: int, owned: Callable[..., list[Any]]
) -> None:
    """Add records of `res` built from its create schema; required references are random."""
    assert res.create_schema is not None, f"{res.path}: populate() must make these by hand"
    schema = res.create_schema
    parents = {
        name: list(await session.scalars(select(REGISTRY[target].model.id)))
        for name, target in res.references.items()
        if schema.model_fields[name].is_required() and not name.endswith("_ids")
    }

    def make(i: int) -> Any:
        given = {name: ids[i % len(ids)] for name, ids in parents.items()}
        # A word, unique: a condition's name must be one (its pattern's example is not unique).
        body = schema.model_validate(example_body(schema, text=f"r{tag}_{i}", given=given))
        return res.model(**body.model_dump(exclude=set(res.crud.relations), exclude_unset=True))

    owned(make)


async def owner_fields(
    session: AsyncSession, res: Resource
) -> list[tuple[int, int | None, int | None]]:
    """Return every record of a resource as (id, owner_user_id, owner_group_id)."""
    model = res.model
    rows = await session.execute(
        select(model.id, model.owner_user_id, model.owner_group_id).order_by(model.id)
    )
    return [(row[0], row[1], row[2]) for row in rows]
