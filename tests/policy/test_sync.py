"""sync_policy: the exact seeded rules, idempotence, dry runs, repairs and random edits."""

import itertools
import random
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.enforcer import current_revision, group_sub, role_sub, user_sub
from app.crud.policy import PolicyDiff, sync_policy
from app.crud.policy_rules import Rule, rule_of
from app.init_db import EXTRA_PERMISSIONS
from app.models import (
    ACTIONS,
    CasbinRule,
    Group,
    Permission,
    Role,
    User,
    role_permissions,
    user_groups,
    user_roles,
)
from app.resources import PERMISSION_MODELS
from tests.conftest import Backend
from tests.policy.population import open_db, run

UNIQUE = itertools.count(1)
EDITS = (
    "grant",
    "revoke",
    "assign",
    "unassign",
    "join",
    "leave",
    "new role",
    "drop role",
    "new group",
    "drop group",
    "new user",
    "drop user",
    "new permission",
)
BUSINESS = ("customer", "project", "task", "comment", "time_entry", "tag")
# The `user` role, written out from the contract rather than derived from init_db.
USER_ROLE = {
    "user:read:own",
    "user:update:own",
    "session:read:own",
    "session:delete:own",
    "tag:read:all",
    "tag:create:own",
    "tag:update:own",
    "tag:delete:own",
    *(
        f"{model}:{perm}"
        for model in ("customer", "project", "task", "comment", "time_entry")
        for perm in ("create:own", "read:own", "update:own", "delete:own", "read:group")
    ),
}


async def rows(session: AsyncSession) -> list[tuple[int, Rule]]:
    """Return every Casbin row as (id, rule), in id order."""
    found = await session.scalars(select(CasbinRule).order_by(CasbinRule.id))
    return [(row.id, rule_of(row)) for row in found]


async def ids_by_name(
    session: AsyncSession, model: type[Role] | type[User] | type[Group]
) -> dict[str, int]:
    """Map names (usernames for users) to ids."""
    column = model.username if model is User else model.name
    return {name: id_ for id_, name in await session.execute(select(model.id, column))}


def test_seeded_rules_are_exactly_the_default_roles(live: Backend) -> None:
    """Check the rules sync_policy wrote for the seed, rule by rule and row by row."""

    async def scenario() -> None:
        async with open_db(live.settings) as sessions, sessions() as session:
            stored = await rows(session)
            roles = await ids_by_name(session, Role)
            users = await ids_by_name(session, User)
            groups = await ids_by_name(session, Group)
            raw = list(await session.scalars(select(CasbinRule)))

        rules = [rule for _, rule in stored]
        assert len(rules) == len(set(rules)), "duplicate rows"
        by_role: dict[str, set[str]] = {name: set() for name in roles}
        names = {role_sub(id_): name for name, id_ in roles.items()}
        for rule in rules:
            if rule[0] == "p":
                assert len(rule) == 5, rule
                by_role[names[rule[1]]].add(":".join(rule[2:]))
        grid = {f"{m}:{a}:all" for m in PERMISSION_MODELS for a in ACTIONS}
        assert by_role["admin"] == grid | set(EXTRA_PERMISSIONS)
        assert len(by_role["user"]) == 33
        assert by_role["user"] == USER_ROLE
        assert len(by_role["manager"]) == 24
        assert by_role["manager"] == {f"{m}:{a}:group" for m in BUSINESS for a in ACTIONS}
        assert set(by_role) == {"admin", "user", "manager"}

        assert {rule for rule in rules if rule[0] != "p"} == {
            ("g", user_sub(users["admin"]), role_sub(roles["admin"])),
            ("g", user_sub(users["demo"]), role_sub(roles["user"])),
            ("g2", user_sub(users["demo"]), group_sub(groups["demo-team"])),
            *(
                ("n", role_sub(id_), name) for name, id_ in roles.items()
            ),  # what subject.roles reads
        }
        grants = len(PERMISSION_MODELS) * len(ACTIONS) + len(EXTRA_PERMISSIONS) + 33 + 24
        assert len(rules) == grants + 3 + len(roles)
        # The adapter reads the row's values up to the first NULL: nothing may follow one.
        for row in raw:
            values = [row.v0, row.v1, row.v2, row.v3, row.v4, row.v5]
            width = len(rule_of(row)) - 1
            assert all(v for v in values[:width]), str(row)
            assert all(v is None for v in values[width:]), str(row)

    run(scenario())


def test_second_sync_changes_nothing(live: Backend) -> None:
    """Check that syncing an in-sync table adds, removes and bumps nothing."""

    async def scenario() -> None:
        async with open_db(live.settings) as sessions:
            async with sessions() as session:
                before, revision = await rows(session), await current_revision(session)
            for _ in range(2):
                async with sessions() as session, session.begin():
                    diff = await sync_policy(session)
                assert diff == PolicyDiff() and not diff.changed
            async with sessions() as session:
                assert await rows(session) == before
                assert await current_revision(session) == revision

    run(scenario())


@dataclass
class Tampering:
    """What `tamper` did to the Casbin table behind the sync's back."""

    missing: Rule
    stale: list[Rule]
    duplicated: Rule


async def tamper(session: AsyncSession) -> Tampering:
    """Delete a needed row, add stale rows, and duplicate a needed row (twice)."""
    stored = await rows(session)
    missing_id, missing = next(
        (i, r) for i, r in stored if r[0] == "p" and r[2:] == ("task", "read", "group")
    )
    duplicated = next(r for _, r in stored if r[0] == "g2")
    await session.execute(delete(CasbinRule).where(CasbinRule.id == missing_id))
    stale: list[Rule] = [
        ("p", role_sub(999), "task", "read", "all"),
        ("g", user_sub(1), role_sub(999)),
        ("g2", user_sub(999), group_sub(1)),
    ]
    for rule in [*stale, duplicated, duplicated]:
        values = dict(zip(("v0", "v1", "v2", "v3"), rule[1:], strict=False))
        session.add(CasbinRule(ptype=rule[0], **values))
    await session.flush()
    return Tampering(missing=missing, stale=sorted(stale), duplicated=duplicated)


def test_dry_run_reports_without_writing(live: Backend) -> None:
    """Check that a dry run reports the repair and leaves table and revision alone."""

    async def scenario() -> None:
        async with open_db(live.settings) as sessions:
            async with sessions() as session, session.begin():
                done = await tamper(session)
            async with sessions() as session:
                before, revision = await rows(session), await current_revision(session)
            async with sessions() as session, session.begin():
                diff = await sync_policy(session, dry_run=True)
                assert not session.new and not session.dirty and not session.deleted
            assert diff.added == [done.missing]
            assert diff.removed == done.stale
            async with sessions() as session:
                assert await rows(session) == before
                assert await current_revision(session) == revision

    run(scenario())


def test_sync_repairs_the_table(live: Backend) -> None:
    """Check that a sync adds the missing rule, drops stale and duplicate rows, once."""

    async def scenario() -> None:
        async with open_db(live.settings) as sessions:
            async with sessions() as session:
                wanted = Counter(rule for _, rule in await rows(session))
                revision = await current_revision(session)
            async with sessions() as session, session.begin():
                done = await tamper(session)
            async with sessions() as session, session.begin():
                diff = await sync_policy(session)
            assert diff.added == [done.missing]
            assert diff.removed == done.stale
            async with sessions() as session:
                assert Counter(rule for _, rule in await rows(session)) == wanted
                assert await current_revision(session) == revision + 1
            async with sessions() as session, session.begin():
                assert not (await sync_policy(session)).changed
            async with sessions() as session:
                assert await current_revision(session) == revision + 1

    run(scenario())


def test_sync_removes_duplicates_alone(live: Backend) -> None:
    """Check that duplicate rows go even when no rule is missing or stale."""

    async def scenario() -> None:
        async with open_db(live.settings) as sessions:
            async with sessions() as session, session.begin():
                stored = await rows(session)
                for _, rule in stored[::10]:
                    values = dict(zip(("v0", "v1", "v2", "v3"), rule[1:], strict=False))
                    session.add(CasbinRule(ptype=rule[0], **values))
            async with sessions() as session, session.begin():
                diff = await sync_policy(session)
            assert not diff.added and not diff.removed
            assert diff.duplicates == sorted(rule for _, rule in stored[::10])
            async with sessions() as session, session.begin():
                assert not (await sync_policy(session)).changed
            async with sessions() as session:
                after = await rows(session)
            assert sorted(rule for _, rule in after) == sorted(rule for _, rule in stored)
            # The first row of each rule is the one kept.
            assert {i for i, _ in after} == {i for i, _ in stored}

    run(scenario())


@dataclass
class Tables:
    """The test's own copy of the permissions tables, to derive the rules independently."""

    permissions: dict[int, tuple[str, str, str]]
    grants: set[tuple[int, int]]
    user_roles: set[tuple[int, int]]
    user_groups: set[tuple[int, int]]
    roles: dict[int, str]

    def rules(self) -> set[Rule]:
        """Return the rules these tables call for, per the model's documented layout."""
        found: set[Rule] = {("p", f"r:{r}", *self.permissions[p]) for r, p in self.grants}
        found |= {("g", f"u:{u}", f"r:{r}") for u, r in self.user_roles}
        found |= {("g2", f"u:{u}", f"g:{g}") for u, g in self.user_groups}
        found |= {("n", f"r:{r}", name) for r, name in self.roles.items()}
        return found


async def read_tables(session: AsyncSession) -> Tables:
    """Read the permissions tables into a `Tables`."""
    perms = await session.execute(
        select(Permission.id, Permission.model, Permission.action, Permission.scope)
    )
    return Tables(
        permissions={pid: (m, a, s) for pid, m, a, s in perms},
        grants={(r, p) for r, p in await session.execute(select(role_permissions))},
        user_roles={(u, r) for u, r in await session.execute(select(user_roles))},
        user_groups={(u, g) for u, g in await session.execute(select(user_groups))},
        roles={r: name for r, name in await session.execute(select(Role.id, Role.name))},
    )


async def link(
    session: AsyncSession, table: Table, links: set[tuple[int, int]], *pairs: tuple[int, int]
) -> None:
    """Insert the `pairs` not in `links` yet into a link table, and add them to `links`."""
    new = set(pairs) - links
    if new:
        values = [dict(zip(table.c.keys(), pair, strict=True)) for pair in new]
        await session.execute(insert(table), values)
    links |= new


async def random_edit(session: AsyncSession, rng: random.Random, tables: Tables) -> str:
    """Make one random change to the permissions tables, in the database and in `tables`."""
    step = next(UNIQUE)
    role_ids = list(await session.scalars(select(Role.id).order_by(Role.id)))
    user_ids = list(await session.scalars(select(User.id).order_by(User.id)))
    group_ids = list(await session.scalars(select(Group.id).order_by(Group.id)))
    kind = rng.choice(EDITS)
    if kind == "grant" and role_ids:
        pairs = {(rng.choice(role_ids), rng.choice(list(tables.permissions))) for _ in range(5)}
        await link(session, role_permissions, tables.grants, *pairs)
    elif kind == "revoke" and tables.grants:
        gone = set(rng.sample(sorted(tables.grants), min(5, len(tables.grants))))
        for r, p in gone:
            await session.execute(
                delete(role_permissions).where(
                    role_permissions.c.role_id == r, role_permissions.c.permission_id == p
                )
            )
        tables.grants -= gone
    elif kind in ("assign", "join") and user_ids:
        table, links, targets = (
            (user_roles, tables.user_roles, role_ids)
            if kind == "assign"
            else (user_groups, tables.user_groups, group_ids)
        )
        if targets:
            await link(session, table, links, (rng.choice(user_ids), rng.choice(targets)))
    elif kind in ("unassign", "leave"):
        table, links = (
            (user_roles, tables.user_roles)
            if kind == "unassign"
            else (user_groups, tables.user_groups)
        )
        if links:
            pair = rng.choice(sorted(links))
            user_column, other_column = table.c
            await session.execute(
                delete(table).where(user_column == pair[0], other_column == pair[1])
            )
            links.discard(pair)
    elif kind == "new role":
        role = Role(name=f"sync-role-{step}")
        session.add(role)
        await session.flush()
        tables.roles[role.id] = role.name
        chosen = rng.sample(sorted(tables.permissions), 6)
        await link(session, role_permissions, tables.grants, *((role.id, p) for p in chosen))
        if user_ids:
            await link(session, user_roles, tables.user_roles, (rng.choice(user_ids), role.id))
    elif kind == "drop role" and role_ids:
        r = rng.choice(role_ids)
        await session.execute(delete(Role).where(Role.id == r))
        tables.grants = {(x, p) for x, p in tables.grants if x != r}
        del tables.roles[r]
        tables.user_roles = {(u, x) for u, x in tables.user_roles if x != r}
    elif kind == "new group":
        group = Group(name=f"sync-group-{step}")
        session.add(group)
        await session.flush()
        members = rng.sample(user_ids, min(2, len(user_ids)))
        await link(session, user_groups, tables.user_groups, *((u, group.id) for u in members))
    elif kind == "drop group" and group_ids:
        g = rng.choice(group_ids)
        await session.execute(delete(Group).where(Group.id == g))
        tables.user_groups = {(u, x) for u, x in tables.user_groups if x != g}
    elif kind == "new user":
        user = User(username=f"sync-user-{step}", email=f"s{step}@example.com", hashed_password="x")
        session.add(user)
        await session.flush()
        if role_ids:
            await link(session, user_roles, tables.user_roles, (user.id, rng.choice(role_ids)))
    elif kind == "drop user" and user_ids:
        u = rng.choice(user_ids)
        await session.execute(delete(User).where(User.id == u))
        tables.user_roles = {(x, r) for x, r in tables.user_roles if x != u}
        tables.user_groups = {(x, g) for x, g in tables.user_groups if x != u}
    elif kind == "new permission":
        action, scope = rng.choice(ACTIONS), rng.choice(("all", "own", "group"))
        perm = Permission(model=f"extra{step}", action=action, scope=scope)
        session.add(perm)
        await session.flush()
        tables.permissions[perm.id] = (perm.model, action, scope)
        if role_ids:
            await link(session, role_permissions, tables.grants, (rng.choice(role_ids), perm.id))
    return kind


def test_sync_follows_random_edits(live: Backend) -> None:
    """Check every sync's diff, table and revision after random edits to the four tables."""

    async def scenario() -> Counter[str]:
        rng = random.Random(31337)
        kinds: Counter[str] = Counter()
        async with open_db(live.settings) as sessions:
            async with sessions() as session:
                tables = await read_tables(session)
                before = tables.rules()
                assert {rule for _, rule in await rows(session)} == before
                revision = await current_revision(session)
            for step in range(40):
                async with sessions() as session, session.begin():
                    for _ in range(rng.randint(1, 3)):
                        kinds[await random_edit(session, rng, tables)] += 1
                    expected = tables.rules()
                    assert (await read_tables(session)).rules() == expected
                    preview = await sync_policy(session, dry_run=True)
                    diff = await sync_policy(session)
                assert diff == preview
                assert diff.added == sorted(expected - before), step
                assert diff.removed == sorted(before - expected), step
                async with sessions() as session:
                    stored = [rule for _, rule in await rows(session)]
                    assert sorted(stored) == sorted(expected), step
                    revision += diff.changed
                    assert await current_revision(session) == revision, step
                before = expected
        return kinds

    kinds = run(scenario())
    assert len(kinds) >= 10, kinds
