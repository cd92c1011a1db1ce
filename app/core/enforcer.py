"""The Casbin enforcer behind every decision, with an exact decision cache.

An enforcer is never reloaded in place: when the policy revision in the database moves,
a new one is loaded through `sqlalchemy_adapter` and swapped in whole. `enforce()` is only
ever called on the event loop (pycasbin is not thread-safe on this Python).
"""

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from itertools import islice

import casbin
from sqlalchemy import Engine, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy_adapter import Adapter

from app.core.config import PROJECT_ROOT, Settings, with_driver
from app.core.database import create_sync_engine
from app.core.numbers import whole_number
from app.models import CasbinRule, PolicyState

log = logging.getLogger(__name__)
# The channel a policy sync announces its new revision on (PostgreSQL `NOTIFY`).
POLICY_CHANNEL = "policy_changed"

MODEL_PATH = PROJECT_ROOT / "policy" / "model.conf"
# pycasbin parses its matcher with `ast.parse` on every uncached `enforce()`, and CPython
# 3.11's `ast.parse` is not safe in two threads at once ("AST constructor recursion depth
# mismatch"). The app asks only on its event loop; the lock keeps any other thread of the
# process (a test's, beside an app served in-process) from asking at the same moment.
ENFORCE_LOCK = threading.Lock()
CACHE_LIMIT = 200_000
# Before a new policy is swapped in, it answers again the decisions its predecessor was
# asked most recently (on the event loop, yielding between them), for up to this long: the
# first requests after a change then find them cached.
WARM_SECONDS = 0.025
WARM_MOST = 256


def user_sub(user_id: int) -> str:
    return f"u:{user_id}"


def role_sub(role_id: int) -> str:
    return f"r:{role_id}"


def group_sub(group_id: int) -> str:
    return f"g:{group_id}"


@dataclass(frozen=True, slots=True)
class Scopes:
    """Which records of a model a user may act on: everything, own ones, or some groups'."""

    user_id: int
    all: bool
    own: bool
    group_ids: frozenset[int]

    @property
    def any(self) -> bool:
        return self.all or self.own or bool(self.group_ids)


def enforce_raw(enforcer: casbin.Enforcer, *request: str) -> bool:
    """Ask the enforcer itself (no cache), one thread of the process at a time."""
    with ENFORCE_LOCK:
        return bool(enforcer.enforce(*request))


def load_enforcer(engine: Engine) -> casbin.Enforcer:
    """Build a fresh enforcer from the policy rows stored in the database."""
    adapter = Adapter(engine, db_class=CasbinRule, create_table=False)
    return casbin.Enforcer(str(MODEL_PATH), adapter)


class PolicyEngine:
    """One loaded policy: decisions, scope filters and group lookups, all from Casbin."""

    def __init__(self, enforcer: casbin.Enforcer, revision: int) -> None:
        self.enforcer = enforcer
        self.revision = revision
        self._decisions: dict[tuple[str, str, str, bool, str], bool] = {}
        self._scopes: dict[tuple[int, str, str], Scopes] = {}
        self.decided = 0  # decisions on one record asked so far (`allows`)

    def enforce(self, sub: str, obj: str, act: str, owner: str, group: str) -> bool:
        """Return `enforce()`'s answer, cached on exactly what the matcher reads.

        The matcher reads the owner only as `r.owner == r.sub`, so the key holds that
        comparison instead of the owner, and the enforcer is asked with a representative.
        """
        is_owner = owner == sub
        key = (sub, obj, act, is_owner, group)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= CACHE_LIMIT:
                self._decisions.clear()
            decision = enforce_raw(self.enforcer, sub, obj, act, sub if is_owner else "", group)
            self._decisions[key] = decision
        return decision

    async def warm(self, previous: "PolicyEngine", seconds: float = WARM_SECONDS) -> int:
        """Answer the decisions `previous` made last, newest first, for up to `seconds`;
        return how many. Each is one `enforce()` on the event loop, then a yield."""
        deadline = time.perf_counter() + seconds
        warmed = 0
        # Copied first (the newest few): `previous` goes on serving requests meanwhile.
        scopes = list(islice(reversed(previous._scopes), WARM_MOST))
        decisions = list(islice(reversed(previous._decisions), WARM_MOST))
        for user_id, model, action in scopes:
            if time.perf_counter() > deadline:
                return warmed
            self.scopes(user_id, model, action)
            warmed += 1
            await asyncio.sleep(0)
        for key in decisions:
            if time.perf_counter() > deadline:
                return warmed
            sub, obj, act, is_owner, group = key
            self.enforce(sub, obj, act, sub if is_owner else "", group)
            warmed += 1
            await asyncio.sleep(0)
        return warmed

    def allows(
        self,
        user_id: int,
        model: str,
        action: str,
        owner_user_id: int | None,
        owner_group_id: int | None,
    ) -> bool:
        """Decide whether the user may do `action` on a record with these owner fields."""
        self.decided += 1
        return self.enforce(
            user_sub(user_id),
            model,
            action,
            user_sub(owner_user_id) if owner_user_id is not None else "",
            group_sub(owner_group_id) if owner_group_id is not None else "",
        )

    def permissions(self, user_id: int) -> frozenset[str]:
        """Return every `model:action:scope` the user's roles give them."""
        rules = self.enforcer.get_implicit_permissions_for_user(user_sub(user_id))
        return frozenset(f"{obj}:{act}:{scope}" for _, obj, act, scope in rules)

    def group_ids(self, user_id: int) -> list[int]:
        """Return the groups Casbin knows the user to be in."""
        roles = self.enforcer.get_named_role_manager("g2").get_roles(user_sub(user_id))
        return sorted(int(name[2:]) for name in roles if name.startswith("g:"))

    def scopes(self, user_id: int, model: str, action: str) -> Scopes:
        """Derive the scopes a user holds by asking the enforcer about representative records.

        A record without owners is allowed only by `all`; one owned by the user only by
        `all` or `own`; one owned by group G only by `all` or `group` with membership of G.
        The list filter built from this answer therefore agrees with `enforce()`.
        """
        key = (user_id, model, action)
        found = self._scopes.get(key)
        if found is None:
            sub = user_sub(user_id)
            found = Scopes(
                user_id=user_id,
                all=self.enforce(sub, model, action, "", ""),
                own=self.enforce(sub, model, action, sub, ""),
                group_ids=frozenset(
                    gid
                    for gid in self.group_ids(user_id)
                    if self.enforce(sub, model, action, "", group_sub(gid))
                ),
            )
            if len(self._scopes) >= CACHE_LIMIT:
                self._scopes.clear()
            self._scopes[key] = found
        return found


class PolicyStore:
    """Holds the current `PolicyEngine`; builds the next one off the request path.

    A request asks for an engine at least as new as the revision it read from the database
    (read-your-writes). When the store holds an older one, one build runs (in a worker
    thread) however many requests wait for it, and the new engine is swapped in whole.
    Writers that change the policy and `watch` (PostgreSQL `LISTEN`, else polling) start
    that build as soon as the revision moves, so requests rarely wait at all.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._current: PolicyEngine | None = None
        self._building: asyncio.Task[PolicyEngine] | None = None
        self.lookups = 0  # requests for the policy in force so far (`at_least`)

    @property
    def current(self) -> PolicyEngine | None:
        return self._current

    async def get(self, session: AsyncSession) -> PolicyEngine:
        """Return an engine at least as new as the revision the database holds now."""
        return await self.at_least(await current_revision(session))

    async def at_least(self, revision: int) -> PolicyEngine:
        """Return an engine of `revision` or newer, waiting for (or starting) a build."""
        self.lookups += 1
        while True:
            engine = self._current
            if engine is not None and engine.revision >= revision:
                return engine
            await asyncio.shield(self.refresh())

    def refresh(self) -> asyncio.Task[PolicyEngine]:
        """Start a build of the stored policy unless one is running; return its task."""
        task = self._building
        if task is None or task.done():
            task = self._building = asyncio.get_running_loop().create_task(self._build())
        return task

    async def _build(self) -> PolicyEngine:
        started = time.perf_counter()
        # Builds run one at a time (see `refresh`), each reading what is stored when it
        # starts: the newest build is the newest policy, even when the revision went down
        # (a database restored from a backup).
        engine = await build_engine(self._engine)
        warmed = 0 if self._current is None else await engine.warm(self._current)
        self._current = engine
        elapsed = 1000 * (time.perf_counter() - started)
        log.info(
            "policy revision %d loaded in %.0f ms (%d decisions warmed)",
            engine.revision,
            elapsed,
            warmed,
        )
        return engine

    async def watch(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Keep the engine current without waiting for a request: on PostgreSQL, `LISTEN`
        for the revision a sync announces; on both backends, check the stored revision every
        `policy_poll_seconds` as well. Runs until cancelled; errors are logged and retried."""
        while True:
            try:
                if settings.is_sqlite:
                    await self._poll(settings, sessions)
                else:
                    await self._listen(settings, sessions)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: requests still check
                log.warning("policy watch: %s: %s", exc.__class__.__name__, exc)
                await asyncio.sleep(settings.policy_poll_seconds)

    async def _poll(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        while True:
            await self._check(sessions)
            await asyncio.sleep(settings.policy_poll_seconds)

    async def _check(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Rebuild when the stored revision differs from the engine's, either way."""
        async with sessions() as session:
            revision = await current_revision(session)
        if self._current is None or self._current.revision != revision:
            await asyncio.shield(self.refresh())

    async def _listen(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        import psycopg  # here: only a PostgreSQL deployment's app listens (not the CLI, SQLite)

        url = with_driver(settings.sync_database_url, asynchronous=False)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
            await connection.execute(f"LISTEN {POLICY_CHANNEL}")
            while True:
                # Announced revisions as they come; on a quiet channel, a check of the
                # stored one (a notification lost with a dropped connection, say).
                async for notice in connection.notifies(timeout=settings.policy_poll_seconds):
                    revision = whole_number(notice.payload, low=0, high=2**63 - 1)
                    if revision is not None:
                        log.info("policy revision %s announced", revision)
                        await self.at_least(revision)
                await self._check(sessions)


async def build_engine(engine: Engine) -> PolicyEngine:
    """Load the stored policy into a new `PolicyEngine`, in a worker thread."""
    # Loading only reads the database; enforce() is never called off the event loop.
    return PolicyEngine(*await asyncio.to_thread(load_stored, engine))


def load_stored(engine: Engine) -> tuple[casbin.Enforcer, int]:
    """Read the revision, then the rules: the rules are at least as new as the revision."""
    with engine.connect() as connection:
        revision = connection.scalar(select(PolicyState.revision).where(PolicyState.id == 1))
    return load_enforcer(engine), revision or 0


async def load_policy(settings: Settings) -> PolicyEngine:
    """Load the stored policy at the stored revision, for scripts and tools (no store)."""
    engine = create_sync_engine(settings)
    try:
        return await build_engine(engine)
    finally:
        engine.dispose()


async def current_revision(session: AsyncSession) -> int:
    """Return the policy revision stored in the database (0 before the first sync)."""
    revision = await session.scalar(select(PolicyState.revision).where(PolicyState.id == 1))
    return revision or 0
