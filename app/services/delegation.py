"""A grant delegates only what the granter holds, as in the trusted access systems
(PostgreSQL's grant option, Kubernetes' escalation check): without it, whoever may edit
roles and read permissions could give their own role every permission.

A write may give a user only what the editor holds at that scope or wider (`task:read:own`
is covered by `task:read:own` or `task:read:all`), with the same condition or none
(`task:update:own[open]` by itself, or by `task:update:own`, which allows more): a role's
new permissions, a user's new roles, a changed permission, a role renamed to the one every
registration gets (whose whole set then goes to strangers), and another user's password
(which lets the editor act as them, so the editor must hold all they hold). A
`group` permission reaches the records of the holder's groups, so where a write makes one
reach a group (a new member, a new `group` permission for people in it) the editor must
reach that group's records too: the same `all`, or the same `group` and membership. The
admin role, holding every permission at `all`, may grant anything, permissions of models
the app does not know included. A refusal is a 403 naming what the editor does not hold.
"""

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Forbidden
from app.models import ACTIONS
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS, REGISTRY, Resource
from app.services.access import Access

EVERYTHING = frozenset(
    {f"{model}:{action}:all" for model in PERMISSION_MODELS for action in ACTIONS}
    | set(EXTRA_PERMISSIONS)
)


def covers(held: frozenset[str], wanted: str) -> bool:
    """Whether holding `held` covers granting `wanted`: the same, or its model and action at
    `all`; a permission with a condition (`task:update:own[open]`, narrower) is covered by
    the same without one too."""
    base, bracket, condition = wanted.partition("[")
    model, action, _ = base.split(":")
    wider = {base, f"{model}:{action}:all"}
    if bracket:
        wider |= {wanted, f"{model}:{action}:all[{condition}"}
    return not wider.isdisjoint(held)


def refusal(missing: list[str], why: str = "") -> Forbidden:
    """The 403 of a write that would give what the editor does not hold, naming it."""
    return Forbidden(
        f"{why}you may grant only what you hold yourself (at the same scope or wider): you"
        f" do not hold {', '.join(missing)}"
    )


async def check_delegation(
    *,
    res: Resource,
    access: Access,
    session: AsyncSession,
    values: dict[str, Any],
    record: Any | None,
) -> None:
    """Refuse (403) a create or update that would give what the editor does not hold.

    `values` holds what the client set; `record` is the record before an update (None on
    create).
    """
    if res.grants is None:
        return
    check = Check(access, session)
    if check.held >= EVERYTHING:
        return
    await res.grants(check, values, record)
    if check.missing:
        raise refusal(list(dict.fromkeys(check.missing)), check.why)


class Check:
    """What one write would give that its editor does not hold, gathered as it is found."""

    def __init__(self, access: Access, session: AsyncSession) -> None:
        self.access = access
        self.session = session
        self.held = access.policy.permissions(access.user.id)  # by name, conditions named
        self.missing: list[str] = []
        self.why = ""

    async def grant(self, names: Iterable[str], groups: Iterable[int]) -> None:
        """Permissions `names` given to people in `groups`: each held, and where it is a
        `group` one, reached in each of those groups."""
        names = set(names)
        self.missing += sorted(name for name in names if not covers(self.held, name))
        await self.reach(groups, names)

    async def reach(self, group_ids: Iterable[int], names: Iterable[str]) -> None:
        """What holders of `names` would reach in each of `group_ids` through their `group`
        permissions that the editor cannot reach there, named `task:read over <group>`."""
        groups = sorted(set(group_ids))
        bases = {name.partition("[")[0] for name in names}  # a condition narrows, within it
        wanted = sorted({base.rsplit(":", 1)[0] for base in bases if base.endswith(":group")})
        if not groups or not wanted:
            return
        titles = await self.access.titles_of(REGISTRY["groups"], self.session, groups)
        for group_id in groups:
            for model_action in wanted:
                model, action = model_action.split(":")
                if not self.access.allows(model, action, {"owner_group_id": group_id}):
                    group = titles.get(group_id, f"group #{group_id}")
                    self.missing.append(f"{model_action} over the records of {group}")
