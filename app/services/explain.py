"""Explain a decision: may this user `action` this record, which of their permissions allow
it, and why each other one does not, in words with the record's values. The answer is the
decision itself (`Access.allows`), each permission told apart beside it."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.callers import Caller
from app.core.conditions.compiled import Asked
from app.core.conditions.explain import why_not
from app.core.decisions import OWNER_GROUP, OWNER_USER, attribute
from app.core.enforcer import user_sub
from app.core.errors import Forbidden, NotFound
from app.resources import REGISTRY, Resource
from app.services.access import Access


@dataclass
class Reason:
    """One permission the user holds for the model and action, and whether it allows."""

    role: str | None  # None: held directly
    permission: str
    condition: str | None
    allows: bool
    why_not: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    user_id: int
    username: str
    resource: str
    action: str
    record_id: int
    title: str  # the record's name, as its page shows it
    allowed: bool
    allowing: list[Reason]
    others: list[Reason]


async def explain(
    access: Access,
    session: AsyncSession,
    res: Resource,
    action: str,
    record_id: int,
    user_id: int | None = None,
) -> Explanation:
    """Explain `action` on record `record_id` of `res`, for the caller or (with
    `user:read:all`) for `user_id`. A record the caller may not read is as if missing."""
    record = await res.crud.get(session=session, id=record_id)
    if record is None or not await access.decides(session, res, "read", record):
        raise NotFound(res.singular)
    who = access
    if user_id is not None and user_id != access.user.id:
        if not access.scopes("user", "read").all:
            raise Forbidden("explaining another user's access needs user:read:all")
        user = await REGISTRY["users"].crud.get(session=session, id=user_id)
        if user is None:
            raise NotFound("User")
        who = access_of(user, access)
    view = await who.view(session, res, action, record)
    allowed = who.allows(res.policy_model, action, view)
    reasons = reasons_for(who, res, action, view)
    return Explanation(
        user_id=who.user.id,
        username=who.user.username,
        resource=res.path,
        action=action,
        record_id=record_id,
        title=res.title_of(record),
        allowed=allowed,
        allowing=[reason for reason in reasons if reason.allows],
        others=[reason for reason in reasons if not reason.allows],
    )


def reasons_for(who: Access, res: Resource, action: str, view: Any) -> list[Reason]:
    """Each permission `who` holds for `action` on `res`, and whether it allows the record
    (`view`: loaded with what their conditions read), or why not."""
    return [_reason(who, line, view) for line in _lines(who, res, action)]


def access_of(user: Any, access: Access | None = None, policy: Any = None) -> Access:
    """The access context of `user` (an ORM row), under `policy` (default: `access`'s), at
    `access`'s time (default: now)."""
    caller = Caller(user.id, user.username, user.full_name, user.is_active, user.time_zone)
    if access is None:
        return Access(caller, policy)
    return Access(caller, policy or access.policy, now=access.now)


def _lines(who: Access, res: Resource, action: str) -> list[list[str]]:
    lines = who.policy.index.candidates(user_sub(who.user.id), res.policy_model, action)
    unique = {tuple(line): line for line in lines}
    return sorted(unique.values())


def _reason(who: Access, line: list[str], view: Any) -> Reason:
    policy = who.policy
    facts = policy.facts
    scope, cid = line[3], line[4] if len(line) > 4 else ""
    why = _scope_why(who, scope, view)
    condition = policy.conditions.get(cid) if cid else None
    if cid and not why:
        env = who.env()
        if condition is None or condition.tree is None:
            why.append(
                f"its condition does not check: {condition.error}"
                if condition is not None
                else "its condition no longer exists"
            )
        elif not Asked(view, env, policy.conditions).holds(cid):
            why += why_not(condition.tree, view, env) or ["its condition is not true of it"]
    role = facts.role_names.get(line[0]) if line[0].startswith("r:") else None
    return Reason(
        role=role,
        permission=facts.permission_name(line),
        condition=facts.condition_name(cid) if cid else None,
        allows=not why,
        why_not=why,
    )


def _scope_why(who: Access, scope: str, view: Any) -> list[str]:
    if scope == "all":
        return []
    if scope == "own":
        owner = attribute(view, OWNER_USER)
        if owner == who.user.id:
            return []
        held = f"user #{owner}" if owner is not None else "nobody"
        return [f"it is owned by {held}, not by {who.user.username}"]
    if scope == "group":
        group = attribute(view, OWNER_GROUP)
        if group is not None and group in who.group_ids:
            return []
        theirs = ", ".join(f"#{g}" for g in who.group_ids) or "none"
        held = f"group #{group}" if group is not None else "no group"
        return [f"it belongs to {held}, not to one of {who.user.username}'s groups ({theirs})"]
    return [f"its scope {scope!r} reaches no record"]
