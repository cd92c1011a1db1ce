"""Revisions at any size: a sync larger than a statement's parameters, a process that missed
an announcement (it catches up by revision), a change announced while a process loads the
whole policy, and announcements that fit PostgreSQL's 8,000 bytes."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.database import create_sync_engine
from app.core.enforcer import load_policy
from app.core.policy_lines import (
    NOTICE_BYTES,
    POLICY_CHANGE_KEPT,
    Change,
    decode_notice,
    encode_notice,
)
from app.core.policy_store import PolicyStore
from app.crud.policy import desired_rules, stored_rules, sync_policy
from app.crud.policy_scope import POLICY_WRITTEN, PolicyScope
from app.models import CasbinRule, Group, PolicyChange, User, user_groups
from tests.conftest import Backend
from tests.policy.population import open_db, run

# More rows than one statement may carry parameters (PostgreSQL's limit is 65,535).
STALE = 70_000
Sessions = async_sessionmaker[AsyncSession]
MODELS = ("task", "project", "customer", "comment", "tag", "time_entry", "audit")


def test_a_sync_removes_more_rules_than_a_statement_has_parameters(live: Backend) -> None:
    """70,000 stale rows (of 10,000 roles that do not exist) go in one sync, which reports
    each of them and leaves exactly the rules the tables call for."""
    engine = create_sync_engine(live.settings)
    try:
        with engine.begin() as connection:
            rows = [
                {"ptype": "p", "v0": f"r:{900_000 + n // 7}", "v1": MODELS[n % 7]}
                | {"v2": "read", "v3": "all"}
                for n in range(STALE)
            ]
            connection.execute(insert(CasbinRule), rows)
    finally:
        engine.dispose()
    reported: list[int] = []

    async def scenario() -> None:
        async with open_db(live.settings) as sessions:
            async with sessions() as session, session.begin():
                diff = await sync_policy(
                    session, report=lambda kind, rules: reported.append(len(rules))
                )
            assert diff.counts == {"added": 0, "removed": STALE, "duplicates": 0}
            assert len(diff.removed) == 10_000 and diff.removed == sorted(diff.removed)
            assert sum(reported) == STALE and max(reported) <= 5_000
            async with sessions() as session:
                assert set(await stored_rules(session)) == await desired_rules(session)
                change = await session.scalar(
                    select(PolicyChange).order_by(PolicyChange.revision.desc()).limit(1)
                )
                assert change is not None and change.changes is None  # too many: reload

    run(scenario())


async def join(sessions: Sessions, user_id: int, group_id: int) -> tuple[int, list[Change]]:
    """Put the user in the group through a scoped sync; return (revision, changes)."""
    async with sessions() as session, session.begin():
        await session.execute(insert(user_groups).values(user_id=user_id, group_id=group_id))
        await sync_policy(session, scope=PolicyScope(users={user_id}))
        return session.info[POLICY_WRITTEN]


@asynccontextmanager
async def watching(live: Backend) -> AsyncIterator[tuple[PolicyStore, Sessions, int]]:
    """A PolicyStore of its own (no server, no LISTEN: it learns only when asked), sessions,
    and the admin's id."""
    sync_engine = create_sync_engine(live.settings)
    try:
        async with open_db(live.settings) as sessions:
            admin, _ = await ids(sessions)
            yield PolicyStore(sync_engine), sessions, admin
    finally:
        sync_engine.dispose()


async def forget(sessions: Sessions, revision: int) -> None:
    """Make the revision's changes undescribed, as a change too large to describe is."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(PolicyChange).where(PolicyChange.revision == revision).values(changes=None)
        )


async def ids(sessions: Sessions) -> tuple[int, list[int]]:
    async with sessions() as session:
        admin = await session.scalar(select(User.id).where(User.username == "admin"))
        groups = list(await session.scalars(select(Group.id).order_by(Group.id)))
    assert admin is not None and groups
    return admin, groups


async def new_groups(sessions: Sessions, count: int) -> list[int]:
    async with sessions() as session, session.begin():
        made = [Group(name=f"revision-group-{n}") for n in range(count)]
        session.add_all(made)
        await session.flush()
        return [group.id for group in made]


def test_a_missed_announcement_is_caught_up_by_revision(live: Backend) -> None:
    """A process that heard of none of two revisions applies both from `policy_change` (no
    load); one whose revision is no longer described loads the whole policy instead."""

    async def scenario() -> None:
        async with watching(live) as (store, sessions, admin):
            first, second, third = await new_groups(sessions, 3)
            async with sessions() as session:
                engine = await store.get(session)
            start = engine.revision
            await join(sessions, admin, first)
            await join(sessions, admin, second)
            async with sessions() as session:
                assert await store.get(session) is engine
            assert engine.revision == start + 2
            assert (store.builds, store.catch_ups) == (1, 2)
            assert engine.group_ids(admin) == (await load_policy(live.settings)).group_ids(admin)
            assert {first, second} <= set(engine.group_ids(admin))

            revision, _ = await join(sessions, admin, third)
            await forget(sessions, revision)
            async with sessions() as session:
                loaded = await store.get(session)
            assert loaded is not engine and loaded.revision == revision
            assert store.builds == 2 and third in loaded.group_ids(admin)

    run(scenario())


def test_a_change_announced_while_the_policy_loads(live: Backend) -> None:
    """A revision announced while the process loads the whole policy (its predecessor was
    not described) is in force once the load is swapped in, whichever finished first; the
    previous engine answers until then."""

    async def scenario() -> None:
        async with watching(live) as (store, sessions, admin):
            groups = await new_groups(sessions, 6)
            async with sessions() as session:
                old = await store.get(session)
            for first, second in zip(groups[::2], groups[1::2], strict=True):
                undescribed, _ = await join(sessions, admin, first)
                await forget(sessions, undescribed)
                store.advance(undescribed, None)  # too large to describe: a load starts
                assert store.current is old or store.current.revision >= undescribed
                announced = await join(sessions, admin, second)
                store.advance(*announced)  # heard while the load may still run
                async with sessions() as session:
                    engine = await store.get(session)
                assert engine.revision == announced[0]
                assert {first, second} <= set(engine.group_ids(admin))
                fresh = await load_policy(live.settings)
                assert engine.group_ids(admin) == fresh.group_ids(admin)
                assert engine.scopes(admin, "task", "read") == fresh.scopes(admin, "task", "read")
                old = engine
            assert store.builds == 4

    run(scenario())


def test_announcements_fit_a_notification() -> None:
    """A revision's changes travel in the notification when they fit in 8,000 bytes; a larger
    one announces only its revision; what is not a notice is ignored."""
    small = [("+", "p", "r:1", "task", "read", "all"), ("-", "g", "u:2", "r:1")]
    assert decode_notice(encode_notice(7, small)) == (7, small)
    large = [("+", "p", f"r:{n}", "task", "read", "all") for n in range(POLICY_CHANGE_KEPT)]
    payload = encode_notice(8, large)
    assert len(payload.encode()) <= NOTICE_BYTES < 8_000
    assert decode_notice(payload) == (8, None)
    assert decode_notice(encode_notice(9, None)) == (9, None)
    assert decode_notice("12") == (12, None)  # a bare revision
    for garbage in ("", "x", "-1", "true", "[]", '{"revision": "1"}', json.dumps({"a": 1})):
        assert decode_notice(garbage) is None, garbage
    bad = json.dumps({"revision": 3, "changes": [["*", "p"], 5]})
    assert decode_notice(bad) == (3, None)


def test_a_scoped_sync_writes_every_kind_of_line_whole(live: Backend) -> None:
    """A role's grants, name and its holders' links missing together come back whole (a multi-row
    insert of `g` and `p` lines), and a scope naming more permissions than one statement can
    match one by one is synced in full instead."""

    async def scenario() -> None:
        async with watching(live) as (_, sessions, admin):
            async with sessions() as session, session.begin():
                await session.execute(
                    delete(CasbinRule).where(
                        or_(CasbinRule.v0 == "r:1", CasbinRule.v0 == f"u:{admin}")
                    )
                )
            async with sessions() as session, session.begin():
                diff = await sync_policy(session, scope=PolicyScope(roles={1}))
                assert diff.counts["added"] > 10
                assert {rule[0] for rule in diff.added} == {"p", "g", "n"}  # its name too
            many = {(f"model{n}", "read", "all") for n in range(1_500)}
            async with sessions() as session, session.begin():
                await sync_policy(session, scope=PolicyScope(users={admin}, grants=many))
            async with sessions() as session:
                assert set(await stored_rules(session)) == await desired_rules(session)
            fresh = await load_policy(live.settings)
            assert fresh.allows(admin, "task", "delete", None, None)

    run(scenario())
