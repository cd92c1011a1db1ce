"""The decision cache answers exactly as Casbin does, and a policy change means a new engine."""

import random
from functools import partial

from sqlalchemy import delete, insert, select

from app.core.conditions.compiled import Probe
from app.core.database import create_sync_engine
from app.core.enforcer import (
    SCOPES_KEY,
    WARM_MOST,
    PolicyEngine,
    enforce_raw,
    group_sub,
    load_policy,
    user_sub,
)
from app.core.policy_store import PolicyStore
from app.crud.policy import sync_policy
from app.models import (
    ACTIONS,
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
from tests.policy.population import open_db, populate, run

SEED = 424242
REQUESTS = 3000
POOL = 500
SCOPE_CASES = 200
UNKNOWN_USER = 999_999
UNKNOWN_GROUP = 999_998

Request = tuple[str, str, str, str, str]


def random_request(rng: random.Random, user_ids: list[int], group_ids: list[int]) -> Request:
    """Draw a request: known or unknown user, model and action; any kind of owner and group."""
    user_id = rng.choice([*user_ids, UNKNOWN_USER])
    sub = user_sub(user_id)
    obj = rng.choice([*PERMISSION_MODELS, "forecast", ""])
    act = rng.choice([*ACTIONS, "approve"])
    owner = rng.choice(
        [
            sub,
            sub,
            "",
            user_sub(rng.choice(user_ids)),
            user_sub(UNKNOWN_USER),
            group_sub(rng.choice(group_ids)),
        ]
    )
    group = rng.choice(["", group_sub(rng.choice(group_ids)), group_sub(UNKNOWN_GROUP)])
    return sub, obj, act, owner, group


def test_cached_decisions_equal_raw_enforce(live: Backend) -> None:
    """Check enforce() and allows() against the raw enforcer over random requests."""

    async def scenario() -> tuple[int, int]:
        rng = random.Random(SEED)
        async with open_db(live.settings) as sessions:
            async with sessions() as session, session.begin():
                population = await populate(session, rng, users=12, records=1)
            async with sessions() as session:
                policy = await load_policy(live.settings)
        answers: dict[Request, bool] = {}

        def raw(*request: str) -> bool:
            """Ask the enforcer itself, once per distinct request."""
            if request not in answers:
                answers[request] = enforce_raw(policy.enforcer, *request)
            return answers[request]

        # Requests the cache answers from an entry made for a different owner string.
        shared_hits = 0
        owners_seen: dict[tuple[str, str, str, bool, str], set[str]] = {}
        allowed = 0
        # A pool of requests drawn from repeatedly, so that the cache answers most of them;
        # each comes with a twin owned by someone else, which its cache entry must answer too.
        pool: list[Request] = []
        for _ in range(POOL // 2):
            request = random_request(rng, population.user_ids, population.group_ids)
            sub, obj, act, owner, group = request
            other = "" if owner not in ("", sub) else user_sub(UNKNOWN_USER)
            pool += [request, (sub, obj, act, sub if owner == sub else other, group)]
        for _ in range(REQUESTS):
            request = rng.choice(pool)
            sub, obj, act, owner, group = request
            expected = raw(*request)
            assert policy.enforce(*request) is expected, request
            assert policy.enforce(*request) is expected, request
            key = (sub, obj, act, owner == sub, group)
            if owners_seen.setdefault(key, set()) - {owner}:
                shared_hits += 1
            owners_seen[key].add(owner)
            allowed += expected
        for _ in range(REQUESTS // 6):
            user_id = rng.choice([*population.user_ids, UNKNOWN_USER])
            obj = rng.choice(PERMISSION_MODELS)
            act = rng.choice(ACTIONS)
            owner_user = rng.choice([None, user_id, rng.choice(population.user_ids)])
            owner_group = rng.choice([None, rng.choice(population.group_ids)])
            expected = raw(
                user_sub(user_id),
                obj,
                act,
                "" if owner_user is None else user_sub(owner_user),
                "" if owner_group is None else group_sub(owner_group),
            )
            assert policy.allows(user_id, obj, act, owner_user, owner_group) is expected
        return allowed, shared_hits

    allowed, shared_hits = run(scenario())
    assert REQUESTS // 10 < allowed < REQUESTS
    assert shared_hits >= 100, shared_hits


def test_scopes_equal_raw_enforce(live: Backend) -> None:
    """Check scopes() against the raw enforcer for random users, models and actions."""

    async def scenario() -> tuple[int, int]:
        rng = random.Random(SEED + 1)
        async with open_db(live.settings) as sessions:
            async with sessions() as session, session.begin():
                population = await populate(session, rng, users=10, records=1)
            async with sessions() as session:
                policy = await load_policy(live.settings)
                members = {
                    (user_id, group_id)
                    for user_id, group_id in await session.execute(select(user_groups))
                }
        checked = with_groups = 0
        for _ in range(SCOPE_CASES):
            user_id = rng.choice([*population.user_ids, UNKNOWN_USER])
            model = rng.choice(PERMISSION_MODELS)
            action = rng.choice(ACTIONS)
            sub = user_sub(user_id)
            found = policy.scopes(user_id, model, action)
            raw = partial(enforce_raw, policy.enforcer)
            assert found.all is raw(sub, model, action, "", "")
            assert found.own is raw(sub, model, action, sub, "")
            granting: set[int] = set()
            for gid in [*population.group_ids, UNKNOWN_GROUP]:
                allowed = raw(sub, model, action, "", group_sub(gid))
                if (user_id, gid) in members:
                    if allowed:
                        granting.add(gid)
                else:
                    # Only `all` opens a record of a group the user is not in.
                    assert allowed is found.all, (user_id, model, action, gid)
            assert found.group_ids == granting, (user_id, model, action)
            checked += 1
            with_groups += bool(found.group_ids)
        return checked, with_groups

    checked, with_groups = run(scenario())
    assert checked == SCOPE_CASES
    assert with_groups >= 10


async def probe(policy: PolicyEngine, requests: list[Request]) -> dict[Request, bool]:
    """Answer every request through the engine's cache."""
    return {request: policy.enforce(*request) for request in requests}


def demo_requests(demo: int, team: int, other_group: int) -> list[Request]:
    """Return requests for the demo user over every model, action, owner and group."""
    sub = user_sub(demo)
    return [
        (sub, model, action, owner, group)
        for model in PERMISSION_MODELS
        for action in ACTIONS
        for owner in (sub, "", user_sub(demo + 1000))
        for group in ("", group_sub(team), group_sub(other_group))
    ]


def test_policy_change_builds_a_new_engine(live: Backend) -> None:
    """Check that a rebuilt engine sees a policy change and the old one keeps its answers."""

    async def scenario() -> None:
        async with open_db(live.settings) as sessions:
            async with sessions() as session, session.begin():
                demo = await session.scalar(select(User.id).where(User.username == "demo"))
                team = await session.scalar(select(Group.id).where(Group.name == "demo-team"))
                other = Group(name="other-team")
                session.add(other)
                await session.flush()
                await sync_policy(session)
            assert demo is not None and team is not None
            requests = demo_requests(demo, team, other.id)
            async with sessions() as session:
                old = await load_policy(live.settings)
            before = await probe(old, requests)
            old_scopes = old.scopes(demo, "customer", "update")
            sub = user_sub(demo)
            assert before[(sub, "customer", "read", sub, "")] is True
            assert before[(sub, "task", "read", "", group_sub(team))] is True
            assert before[(sub, "customer", "update", "", group_sub(other.id))] is False

            # Demo leaves demo-team, joins other-team, becomes a manager, and the user
            # role loses customer:read:own.
            async with sessions() as session, session.begin():
                manager = await session.scalar(select(Role.id).where(Role.name == "manager"))
                user_role = await session.scalar(select(Role.id).where(Role.name == "user"))
                read_own = await session.scalar(
                    select(Permission.id).where(
                        Permission.model == "customer",
                        Permission.action == "read",
                        Permission.scope == "own",
                    )
                )
                await session.execute(delete(user_groups).where(user_groups.c.user_id == demo))
                await session.execute(insert(user_groups).values(user_id=demo, group_id=other.id))
                await session.execute(insert(user_roles).values(user_id=demo, role_id=manager))
                await session.execute(
                    delete(role_permissions).where(
                        role_permissions.c.role_id == user_role,
                        role_permissions.c.permission_id == read_own,
                    )
                )
                diff = await sync_policy(session)
            assert len(diff.added) == 2 and len(diff.removed) == 2, diff
            async with sessions() as session:
                new = await load_policy(live.settings)

        assert new.revision == old.revision + 1
        assert new is not old and new.enforcer is not old.enforcer
        after = await probe(new, requests)
        for request, answer in after.items():
            assert answer is enforce_raw(new.enforcer, *request), request
        assert after[(sub, "customer", "read", sub, "")] is False
        assert after[(sub, "task", "read", "", group_sub(team))] is False
        assert after[(sub, "customer", "update", "", group_sub(other.id))] is True
        assert new.group_ids(demo) == [other.id]

        # The old engine was not touched: same revision, groups, scopes and answers,
        # cached or asked afresh of its own enforcer.
        assert old.revision == new.revision - 1
        assert old.group_ids(demo) == [team]
        assert old.scopes(demo, "customer", "update") == old_scopes
        assert await probe(old, requests) == before
        for request, answer in before.items():
            assert enforce_raw(old.enforcer, *request) is answer, request
        assert sum(before[r] != after[r] for r in requests) >= 20

        # A new engine warmed from the old one caches what the old one was asked last,
        # answered by the new policy: the first requests after a change find it ready.
        warmed = await load_policy(live.settings)
        count = await warmed.warm(old, seconds=60)
        newest = old.cache.newest(WARM_MOST)
        assert count >= len(newest) > 20
        assert all(warmed.cache.get(sub_, key) is not None for sub_, key in newest)
        for sub_, key, answer in warmed.cache.items():
            if not key[0].startswith(":"):  # a decision (not scopes, conditions, subject)
                obj, act, is_owner, group, true = key
                owner = sub_ if is_owner else ""
                request = (sub_, obj, act, owner, group, Probe(true))
                assert answer is enforce_raw(new.enforcer, *request)
        assert warmed.cache.get(user_sub(demo), (SCOPES_KEY, "customer", "update"))
        assert warmed.scopes(demo, "customer", "update") == new.scopes(demo, "customer", "update")
        assert warmed.scopes(demo, "customer", "update") != old_scopes

    run(scenario())


def test_policy_store_moves_only_with_the_revision(live: Backend) -> None:
    """Check PolicyStore.get(): the same engine while unchanged; after a sync it catches up
    by revision (the change applied in place, read from `policy_change`), not by a load."""

    async def scenario() -> None:
        sync_engine = create_sync_engine(live.settings)
        store = PolicyStore(sync_engine)
        try:
            async with open_db(live.settings) as sessions:
                async with sessions() as session:
                    first = await store.get(session)
                    revision = first.revision
                    assert store.current is first
                    assert await store.get(session) is first
                    admin = await session.scalar(select(User.id).where(User.username == "admin"))
                    team = await session.scalar(select(Group.id).where(Group.name == "demo-team"))
                assert admin is not None and team is not None
                assert first.group_ids(admin) == []

                # A sync with nothing to change keeps the revision, hence the engine.
                async with sessions() as session, session.begin():
                    diff = await sync_policy(session)
                assert not diff.changed
                async with sessions() as session:
                    assert await store.get(session) is first

                # A change that is rolled back does not move the revision either.
                async with sessions() as session:
                    await session.execute(insert(user_groups).values(user_id=admin, group_id=team))
                    assert (await sync_policy(session)).changed
                    await session.rollback()
                async with sessions() as session:
                    assert await store.get(session) is first

                async with sessions() as session, session.begin():
                    await session.execute(insert(user_groups).values(user_id=admin, group_id=team))
                    diff = await sync_policy(session)
                assert diff.added == [("g2", user_sub(admin), group_sub(team))]
                async with sessions() as session:
                    second = await store.get(session)
                    assert second is first and second.revision == revision + 1
                    assert store.current is second
                    assert await store.get(session) is second
                assert (store.builds, store.catch_ups) == (1, 1)
                assert second.group_ids(admin) == [team]
                assert second.scopes(admin, "task", "read") == (
                    await load_policy(live.settings)
                ).scopes(admin, "task", "read")
        finally:
            sync_engine.dispose()

    run(scenario())
