"""The Casbin enforcer behind every decision, with an exact decision cache.

An enforcer is never reloaded in place: when the policy revision in the database moves,
a new one is loaded through `sqlalchemy_adapter` and swapped in whole. `enforce()` is only
ever called on the event loop (pycasbin is not thread-safe on this Python).
"""

import asyncio
from dataclasses import dataclass

import casbin
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy_adapter import Adapter

from app.core.config import PROJECT_ROOT, Settings
from app.core.database import create_sync_engine
from app.models import CasbinRule, PolicyState

MODEL_PATH = PROJECT_ROOT / "policy" / "model.conf"
CACHE_LIMIT = 200_000


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
            decision = self.enforcer.enforce(sub, obj, act, sub if is_owner else "", group)
            self._decisions[key] = decision
        return decision

    def allows(
        self,
        user_id: int,
        model: str,
        action: str,
        owner_user_id: int | None,
        owner_group_id: int | None,
    ) -> bool:
        """Decide whether the user may do `action` on a record with these owner fields."""
        return self.enforce(
            user_sub(user_id),
            model,
            action,
            user_sub(owner_user_id) if owner_user_id is not None else "",
            group_sub(owner_group_id) if owner_group_id is not None else "",
        )

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
    """Holds the current `PolicyEngine` and swaps in a new one when the revision moves."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._current: PolicyEngine | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> PolicyEngine | None:
        return self._current

    async def get(self, session: AsyncSession) -> PolicyEngine:
        """Return an engine at least as new as the revision the database holds now."""
        revision = await current_revision(session)
        engine = self._current
        if engine is not None and engine.revision == revision:
            return engine
        async with self._lock:
            engine = self._current
            if engine is None or engine.revision != revision:
                engine = await self.load(revision)
        return engine

    async def load(self, revision: int) -> PolicyEngine:
        """Load the stored policy and swap it in."""
        self._current = await build_engine(self._engine, revision)
        return self._current


async def build_engine(engine: Engine, revision: int) -> PolicyEngine:
    """Load the stored policy into a new `PolicyEngine`, in a worker thread."""
    # Loading only reads the database; enforce() is never called off the event loop.
    return PolicyEngine(await asyncio.to_thread(load_enforcer, engine), revision)


async def load_policy(settings: Settings, session: AsyncSession) -> PolicyEngine:
    """Load the stored policy at the stored revision, for scripts and tools (no store)."""
    revision = await current_revision(session)
    engine = create_sync_engine(settings)
    try:
        return await build_engine(engine, revision)
    finally:
        engine.dispose()


async def current_revision(session: AsyncSession) -> int:
    """Return the policy revision stored in the database (0 before the first sync)."""
    revision = await session.scalar(select(PolicyState.revision).where(PolicyState.id == 1))
    return revision or 0
