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
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import casbin
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import metrics
from app.core.conditions.compiled import NOTHING, Condition, Probe, holds
from app.core.conditions.evaluate import Subject
from app.core.config import PROJECT_ROOT, Settings
from app.core.database import create_sync_engine
from app.core.decision_cache import DecisionCache
from app.core.policy_facts import PolicyFacts
from app.core.policy_lines import Change, PolicyIndex, RoleGraph
from app.core.scopes import ConditionScope, Scopes
from app.models import PolicyState

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


def user_sub(user_id: int) -> str:
    return f"u:{user_id}"


def role_sub(role_id: int) -> str:
    return f"r:{role_id}"


def group_sub(group_id: int) -> str:
    return f"g:{group_id}"


def enforce_raw(enforcer: casbin.Enforcer, *request: Any) -> bool:
    """Ask the enforcer itself over every line (no index, no cache), one thread at a time;
    a request without a record asks about one of which no condition holds."""
    if len(request) == 5:
        request = (*request, NOTHING)
    with ENFORCE_LOCK:
        return bool(enforcer.enforce(*request))


class Enforcer(casbin.Enforcer):
    """pycasbin's enforcer, its matcher parsed once instead of at every `enforce()` (pycasbin
    builds a `SimpleEval`, an `ast.parse` of the matcher, per call). The parsed matcher keeps
    the `g` functions of the first call, which ask this enforcer's role managers: the same
    objects for its whole life (lines are loaded into them and changed in place)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._expressions: dict[str, Any] = {}
        self.extra: dict[str, list[list[str]]] = {}  # lines Casbin does not read (EXTRA_TYPES)
        super().__init__(*args, **kwargs)

    def _get_expression(self, expr: str, functions: Any = None) -> Any:  # type: ignore[override]
        found = self._expressions.get(expr)
        if found is None:
            found = self._expressions[expr] = casbin.Enforcer._get_expression(expr, functions)
        return found


def new_enforcer() -> casbin.Enforcer:
    """An enforcer of policy/model.conf without lines, its role managers `RoleGraph`s, the
    matcher's `holds()` registered."""
    enforcer = Enforcer(str(MODEL_PATH))
    enforcer.add_function("holds", holds)
    for ptype, assertion in enforcer.model["g"].items():
        assertion.rm = enforcer.rm_map[ptype] = RoleGraph()
    return enforcer


class PolicyEngine:
    """One loaded policy: decisions, scope filters and group lookups, all from Casbin, and
    the role names and conditions beside its lines."""

    def __init__(self, enforcer: casbin.Enforcer, revision: int) -> None:
        self.enforcer = enforcer
        self.revision = revision
        self.index = PolicyIndex(enforcer)
        self.cache = DecisionCache()
        self.decided = 0  # decisions on one record asked so far (`allows`)
        self.applied = 0  # revisions applied in place so far
        self.asked = 0  # uncached decisions (Casbin asked) so far
        self.facts = PolicyFacts(getattr(enforcer, "extra", None) or {})

    @property
    def conditions(self) -> dict[str, Condition]:
        return self.facts.conditions

    def decide(
        self, sub: str, obj: str, act: str, owner: str, group: str, record: Any = NOTHING
    ) -> bool:
        """Casbin's answer, from the lines that can match (see `PolicyIndex.candidates`):
        every other line fails `g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act`."""
        self.asked += 1
        assertion = self.enforcer.model["p"]["p"]
        with ENFORCE_LOCK:
            every = assertion.policy
            assertion.policy = self.index.candidates(sub, obj, act)
            try:
                return bool(self.enforcer.enforce(sub, obj, act, owner, group, record))
            finally:
                assertion.policy = every

    def enforce(
        self, sub: str, obj: str, act: str, owner: str, group: str, record: Any = None
    ) -> bool:
        """Return `enforce()`'s answer, cached on exactly what the matcher reads.

        The matcher reads the owner only as `r.owner == r.sub`, so the key holds that
        comparison instead of the owner, and the enforcer is asked with a representative;
        it reads the record only through `holds()` on the conditions of the lines that can
        match, so the key holds which of those are true of it (each evaluated once).
        """
        is_owner = owner == sub
        conditions = self.conditions_of(sub, obj, act)
        true = (
            frozenset(cid for cid in conditions if record.holds(cid))
            if conditions and record is not None
            else NONE_TRUE
        )
        key = (obj, act, is_owner, group, true)
        decision = self.cache.get(sub, key)
        metrics.cached(decision is not None)
        if decision is None:
            asked = record if true else NOTHING
            decision = self.decide(sub, obj, act, sub if is_owner else "", group, asked)
            self.cache.put(sub, key, decision)
        return decision

    def conditions_of(self, sub: str, obj: str, act: str) -> tuple[str, ...]:
        """The conditions of the lines that can match a request (cached with its answers)."""
        key = (CONDITIONS_KEY, obj, act)
        found = self.cache.get(sub, key)
        if found is None:
            lines = self.index.candidates(sub, obj, act)
            found = tuple(sorted({line[4] for line in lines if len(line) > 4 and line[4]}))
            self.cache.put(sub, key, found)
        return found  # type: ignore[no-any-return]

    def apply(self, revision: int, changes: Iterable[Change]) -> bool:
        """Apply the changes of `revision` (the next one) in place, and drop the cached
        answers of the subjects they affect. Runs without yielding: no decision sees half
        of a revision. Applying a change already in force changes nothing; a revision that
        is not the next is refused (False)."""
        if revision <= self.revision:
            return True
        if revision != self.revision + 1:
            return False
        changes = list(changes)
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
            named, everyone = self.facts.apply(changes)
            for role in named:
                affected |= self.index.affected("p", (role,))
            asked = self.cache.newest(WARM_MOST) if everyone else []
            asked += self.cache.keys_of(affected, WARM_MOST)
            self.cache.drop(list(self.cache.subjects()) if everyone else affected)
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
        elif key[0] == CONDITIONS_KEY:
            self.conditions_of(sub, key[1], key[2])
        elif len(key) == 5:
            obj, act, is_owner, group, true = key
            self.enforce(sub, obj, act, sub if is_owner else "", group, Probe(true))

    def allows(
        self,
        user_id: int,
        model: str,
        action: str,
        owner_user_id: int | None,
        owner_group_id: int | None,
        record: Any = None,
    ) -> bool:
        """Decide whether the user may do `action` on a record with these owner fields (and,
        for conditions, this `record`: an `Asked`)."""
        self.decided += 1
        allowed = self.enforce(
            user_sub(user_id),
            model,
            action,
            user_sub(owner_user_id) if owner_user_id is not None else "",
            group_sub(owner_group_id) if owner_group_id is not None else "",
            record,
        )
        metrics.decided(model, action, allowed)
        return allowed

    def permissions(self, user_id: int) -> frozenset[str]:
        """Return every `model:action:scope[condition]` the user's roles give them."""
        return frozenset(
            self.facts.permission_name(line) for line in self.index.lines_of(user_sub(user_id))
        )

    def group_ids(self, user_id: int) -> list[int]:
        """Return the groups Casbin knows the user to be in."""
        roles = self.enforcer.get_named_role_manager("g2").get_roles(user_sub(user_id))
        return sorted(int(name[2:]) for name in roles if name.startswith("g:"))

    def subject(self, user_id: int, username: str) -> Subject:
        """Who asks, as conditions read them: id, name, groups and role names."""
        sub = user_sub(user_id)
        key = (SUBJECT_KEY, username)
        found = self.cache.get(sub, key)
        if found is None:
            names = self.facts.role_names
            found = Subject(
                user_id,
                username,
                frozenset(self.group_ids(user_id)),
                frozenset(names[r] for r in self.index.subjects(sub) if r in names),
            )
            self.cache.put(sub, key, found)
        return found  # type: ignore[no-any-return]

    def scopes(self, user_id: int, model: str, action: str) -> Scopes:
        """Derive the scopes a user holds by asking the enforcer about representative records.

        A record without owners is allowed only by `all`; one owned by the user only by
        `all` or `own`; one owned by group G only by `all` or `group` with membership of G.
        The same questions about a record of which only condition C holds give what C's
        lines add. The list filter built from this answer therefore agrees with `enforce()`.
        """
        sub = user_sub(user_id)
        key = (SCOPES_KEY, model, action)
        found = self.cache.get(sub, key)
        if found is None:
            found = self._scopes(sub, user_id, model, action, NOTHING)
            if not found.all:
                conditional = []
                for cid in self.conditions_of(sub, model, action):
                    condition = self.conditions.get(cid)
                    if condition is None or condition.tree is None:
                        continue  # true of nothing
                    part = self._scopes(sub, user_id, model, action, Probe(frozenset({cid})))
                    if part.all or part.own > found.own or part.group_ids - found.group_ids:
                        conditional.append(
                            ConditionScope(
                                condition,
                                part.all,
                                part.own and not found.own,
                                part.group_ids - found.group_ids,
                            )
                        )
                found = replace(found, conditional=tuple(conditional))
            self.cache.put(sub, key, found)
        return found  # type: ignore[no-any-return]

    def _scopes(self, sub: str, user_id: int, model: str, action: str, record: Any) -> Scopes:
        return Scopes(
            user_id=user_id,
            all=self.enforce(sub, model, action, "", "", record),
            own=self.enforce(sub, model, action, sub, "", record),
            group_ids=frozenset(
                gid
                for gid in self.group_ids(user_id)
                if self.enforce(sub, model, action, "", group_sub(gid), record)
            ),
        )


# Keys in the cache beside decisions (whose keys start with a model name): a scopes answer,
# the conditions of a request's lines, the subject as conditions read it.
SCOPES_KEY = ":scopes"
CONDITIONS_KEY = ":conditions"
SUBJECT_KEY = ":subject"
NONE_TRUE: frozenset[str] = frozenset()


async def build_engine(engine: Engine) -> PolicyEngine:
    """Load the stored policy into a new `PolicyEngine`, in a worker thread."""
    # Loading only reads the database; enforce() is never called off the event loop.
    return await asyncio.to_thread(load_stored, engine)


def load_stored(engine: Engine) -> PolicyEngine:
    """Read the revision, then the rules: the rules are at least as new as the revision."""
    with engine.connect() as connection:
        revision = connection.scalar(select(PolicyState.revision).where(PolicyState.id == 1))
    from app.core.policy_loader import load_enforcer  # it builds on this module

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
