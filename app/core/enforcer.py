"""The Casbin enforcer behind every decision, an index beside it, and an exact decision cache.

A decision is Casbin's: `enforce()` with the model's matcher, over the lines that can match
the request (those of the user and of the roles the role graph gives them, for this model
and action), found in an index kept beside the enforcer; at any policy size an uncached
decision costs a bounded number of operations. A new revision's changes are applied to the
loaded policy in place, on the event loop (no decision sees half of them), and drop only the
cached decisions of the subjects they affect; a full load is built in a worker thread while
the previous policy keeps answering, then swapped in. `enforce()` is only ever called on the
event loop (pycasbin is not thread-safe on this Python).
"""

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import casbin
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy_adapter import Adapter

from app.core.config import PROJECT_ROOT, Settings
from app.core.database import create_sync_engine
from app.core.decision_cache import DecisionCache
from app.core.policy_lines import Change, PolicyIndex, RoleGraph
from app.models import CasbinRule, PolicyState

log = logging.getLogger(__name__)

MODEL_PATH = PROJECT_ROOT / "policy" / "model.conf"
# pycasbin parses its matcher with `ast.parse` on every uncached `enforce()`, and CPython
# 3.11's `ast.parse` is not safe in two threads at once ("AST constructor recursion depth
# mismatch"). The app asks only on its event loop; the lock keeps any other thread of the
# process (a test's, beside an app served in-process) from asking at the same moment.
ENFORCE_LOCK = threading.Lock()
# Before a newly loaded policy is swapped in, it answers again the decisions its predecessor
# was asked most recently (on the event loop, yielding between them), for up to this long.
WARM_SECONDS = 0.025
WARM_MOST = 256
# Rows read per round trip when loading the policy.
LOAD_BATCH = 10_000


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
    """Ask the enforcer itself over every line (no index, no cache), one thread at a time."""
    with ENFORCE_LOCK:
        return bool(enforcer.enforce(*request))


class StreamingAdapter(Adapter):
    """`sqlalchemy_adapter`'s adapter, loading the rules as plain rows in batches (its own
    builds an ORM object per row and parses each back from text), values interned."""

    def load_policy(self, model: Any) -> None:
        table = CasbinRule.__table__
        columns = [table.c[name] for name in ("ptype", "v0", "v1", "v2", "v3", "v4", "v5")]
        intern = sys.intern
        sections = model.model
        with self._engine.connect() as connection:
            result = connection.execution_options(yield_per=LOAD_BATCH).execute(
                select(*columns).order_by(table.c.id)
            )
            for row in result:
                ptype = row[0]
                section = sections.get(ptype[:1])
                if section is None or ptype not in section:
                    continue
                values: list[str] = []
                for value in row[1:]:
                    if value is None:
                        break
                    values.append(intern(value))
                assertion = section[ptype]
                if len(values) == len(assertion.tokens):  # else Casbin could not evaluate it
                    assertion.policy.append(values)


class Enforcer(casbin.Enforcer):
    """pycasbin's enforcer, its matcher parsed once instead of at every `enforce()` (pycasbin
    builds a `SimpleEval`, an `ast.parse` of the matcher, per call). The parsed matcher keeps
    the `g` functions of the first call, which ask this enforcer's role managers: the same
    objects for its whole life (lines are loaded into them and changed in place)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._expressions: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    def _get_expression(self, expr: str, functions: Any = None) -> Any:  # type: ignore[override]
        found = self._expressions.get(expr)
        if found is None:
            found = self._expressions[expr] = casbin.Enforcer._get_expression(expr, functions)
        return found


def new_enforcer() -> casbin.Enforcer:
    """An enforcer of policy/model.conf without lines, its role managers `RoleGraph`s."""
    enforcer = Enforcer(str(MODEL_PATH))
    for ptype, assertion in enforcer.model["g"].items():
        assertion.rm = enforcer.rm_map[ptype] = RoleGraph()
    return enforcer


def load_enforcer(engine: Engine) -> casbin.Enforcer:
    """Build a fresh enforcer from the policy rows stored in the database."""
    enforcer = new_enforcer()
    enforcer.set_adapter(StreamingAdapter(engine, db_class=CasbinRule, create_table=False))
    enforcer.load_policy()
    return enforcer


class PolicyEngine:
    """One loaded policy: decisions, scope filters and group lookups, all from Casbin."""

    def __init__(self, enforcer: casbin.Enforcer, revision: int) -> None:
        self.enforcer = enforcer
        self.revision = revision
        self.index = PolicyIndex(enforcer)
        self.cache = DecisionCache()
        self.decided = 0  # decisions on one record asked so far (`allows`)
        self.applied = 0  # revisions applied in place so far
        self.asked = 0  # uncached decisions (Casbin asked) so far

    def decide(self, sub: str, obj: str, act: str, owner: str, group: str) -> bool:
        """Casbin's answer, from the lines that can match (see `PolicyIndex.candidates`):
        every other line fails `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act`."""
        self.asked += 1
        assertion = self.enforcer.model["p"]["p"]
        with ENFORCE_LOCK:
            every = assertion.policy
            assertion.policy = self.index.candidates(sub, obj, act)
            try:
                return bool(self.enforcer.enforce(sub, obj, act, owner, group))
            finally:
                assertion.policy = every

    def enforce(self, sub: str, obj: str, act: str, owner: str, group: str) -> bool:
        """Return `enforce()`'s answer, cached on exactly what the matcher reads.

        The matcher reads the owner only as `r.owner == r.sub`, so the key holds that
        comparison instead of the owner, and the enforcer is asked with a representative.
        """
        is_owner = owner == sub
        key = (obj, act, is_owner, group)
        decision = self.cache.get(sub, key)
        if decision is None:
            decision = self.decide(sub, obj, act, sub if is_owner else "", group)
            self.cache.put(sub, key, decision)
        return decision

    def apply(self, revision: int, changes: Iterable[Change]) -> bool:
        """Apply the changes of `revision` (the next one) in place, and drop the cached
        answers of the subjects they affect. Runs without yielding: no decision sees half
        of a revision. Applying a change already in force changes nothing; a revision that
        is not the next is refused (False)."""
        if revision <= self.revision:
            return True
        if revision != self.revision + 1:
            return False
        # Lines of a type the model does not define (a hand-made row) were never loaded.
        known = self.index.sections
        lines = [(c[1], tuple(c[2:]), c[0]) for c in changes if c[1] in known and len(c) > 2]
        with ENFORCE_LOCK:
            # The subjects reaching a changed line before the change and after it.
            affected = {
                sub for ptype, values, _ in lines for sub in self.index.affected(ptype, values)
            }
            for ptype, values, sign in lines:
                self.index.change(sign, ptype, values)
            for ptype, values, _ in lines:
                affected |= self.index.affected(ptype, values)
            asked = self.cache.keys_of(affected, WARM_MOST)
            self.cache.drop(affected)
            self.revision = revision
            self.applied += 1
        # The answers just dropped, asked again of the new policy (still without yielding,
        # for at most WARM_SECONDS): the next requests of those users find them ready.
        deadline = time.perf_counter() + WARM_SECONDS
        for sub, key in asked:
            if time.perf_counter() > deadline:
                break
            self._answer(sub, key)
        return True

    async def warm(self, previous: "PolicyEngine", seconds: float = WARM_SECONDS) -> int:
        """Answer the decisions `previous` made last, newest first, for up to `seconds`;
        return how many. Each is one `enforce()` on the event loop, then a yield."""
        deadline = time.perf_counter() + seconds
        warmed = 0
        for sub, key in previous.cache.newest(WARM_MOST):
            if time.perf_counter() > deadline:
                break
            self._answer(sub, key)
            warmed += 1
            await asyncio.sleep(0)
        return warmed

    def _answer(self, sub: str, key: tuple[Any, ...]) -> None:
        """Ask (and cache) again what a cache key holds: a scopes answer or a decision."""
        if key[0] == SCOPES_KEY:
            self.scopes(int(sub[2:]), key[1], key[2])
        else:
            obj, act, is_owner, group = key
            self.enforce(sub, obj, act, sub if is_owner else "", group)

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
        return frozenset(
            f"{obj}:{act}:{scope}" for _, obj, act, scope in self.index.lines_of(user_sub(user_id))
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
        sub = user_sub(user_id)
        key = (SCOPES_KEY, model, action)
        found = self.cache.get(sub, key)
        if found is None:
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
            self.cache.put(sub, key, found)
        return found


# A scopes answer's key in the cache (a decision's key starts with a model name).
SCOPES_KEY = ":scopes"


async def build_engine(engine: Engine) -> PolicyEngine:
    """Load the stored policy into a new `PolicyEngine`, in a worker thread."""
    # Loading only reads the database; enforce() is never called off the event loop.
    return await asyncio.to_thread(load_stored, engine)


def load_stored(engine: Engine) -> PolicyEngine:
    """Read the revision, then the rules: the rules are at least as new as the revision."""
    with engine.connect() as connection:
        revision = connection.scalar(select(PolicyState.revision).where(PolicyState.id == 1))
    return PolicyEngine(load_enforcer(engine), revision or 0)


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
