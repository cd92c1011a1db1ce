"""Sync the permissions tables into Casbin's policy rows, in the caller's transaction."""

from dataclasses import dataclass, field

from sqlalchemy import String, cast, delete, func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as OrmSession

from app.core.enforcer import POLICY_CHANNEL, group_sub, role_sub, user_sub
from app.crud import audit
from app.models import (
    CasbinRule,
    Group,
    Permission,
    PolicyState,
    Role,
    User,
    role_permissions,
    user_groups,
    user_roles,
)
from app.models.permission import MODEL_NAME

Rule = tuple[str, ...]


@dataclass
class PolicyDiff:
    """What a sync adds to and removes from the Casbin table: missing rules, stale ones,
    and the extra rows of a rule stored more than once (one rule per extra row)."""

    added: list[Rule] = field(default_factory=list)
    removed: list[Rule] = field(default_factory=list)
    duplicates: list[Rule] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.duplicates)


async def desired_rules(session: AsyncSession) -> set[Rule]:
    """Return the Casbin rules the permissions tables call for."""
    rules: set[Rule] = set()
    grants = await session.execute(
        select(
            role_permissions.c.role_id, Permission.model, Permission.action, Permission.scope
        ).join(Permission, Permission.id == role_permissions.c.permission_id)
    )
    for role_id, model, action, scope in grants:
        if well_formed(model):
            rules.add(("p", role_sub(role_id), model, action, scope))
    for user_id, role_id in await session.execute(select(user_roles)):
        rules.add(("g", user_sub(user_id), role_sub(role_id)))
    for user_id, group_id in await session.execute(select(user_groups)):
        rules.add(("g2", user_sub(user_id), group_sub(group_id)))
    return rules


def well_formed(model: str) -> bool:
    """Whether a permission's model can be a Casbin rule: one that cannot (put in the table
    by hand; the API refuses it) is never synced, and `policy lint` reports it."""
    return MODEL_NAME.fullmatch(model) is not None


def rule_of(row: CasbinRule) -> Rule:
    values = (row.v0, row.v1, row.v2, row.v3, row.v4, row.v5)
    return (row.ptype, *(v for v in values if v is not None))


async def stored_rules(session: AsyncSession) -> dict[Rule, list[int]]:
    """Return the stored Casbin rules with the ids of their rows (duplicates included)."""
    found: dict[Rule, list[int]] = {}
    for row in await session.scalars(select(CasbinRule).order_by(CasbinRule.id)):
        found.setdefault(rule_of(row), []).append(row.id)
    return found


async def sync_policy(session: AsyncSession, *, dry_run: bool = False) -> PolicyDiff:
    """Make the Casbin table equal the permissions tables; bump the revision on change."""
    if not dry_run:
        await _lock_policy(session)
    desired = await desired_rules(session)
    stored = await stored_rules(session)
    diff = PolicyDiff(
        added=sorted(desired - stored.keys()),
        removed=sorted(rule for rule in stored if rule not in desired),
        duplicates=sorted(rule for rule, ids in stored.items() for _ in ids[1:]),
    )
    duplicate_ids = [row_id for ids in stored.values() for row_id in ids[1:]]
    if dry_run or not diff.changed:
        return diff
    stale_ids = [row_id for rule in diff.removed for row_id in stored[rule]] + duplicate_ids
    if stale_ids:
        await session.execute(delete(CasbinRule).where(CasbinRule.id.in_(stale_ids)))
    for rule in diff.added:
        values = dict(zip(("v0", "v1", "v2", "v3", "v4", "v5"), rule[1:], strict=False))
        session.add(CasbinRule(ptype=rule[0], **values))
    revision = await session.scalar(
        update(PolicyState)
        .values(revision=PolicyState.revision + 1)
        .returning(PolicyState.revision)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Delivered at commit, to every worker and instance listening (none if rolled back).
        await session.execute(select(func.pg_notify(POLICY_CHANNEL, cast(revision, String))))
    session.info[POLICY_WRITTEN] = revision
    await session.flush()
    changes = {
        "revision": revision,
        "added": [", ".join(rule) for rule in diff.added],
        "removed": [", ".join(rule) for rule in diff.removed],
        "duplicates_removed": [", ".join(rule) for rule in diff.duplicates],
    }
    await audit.record(session, "policy_sync", resource="casbin_rule", changes=changes)
    return diff


async def _lock_policy(session: AsyncSession) -> None:
    """Serialize syncs: take the policy row's lock (creating the row on first use)."""
    state = await session.scalar(select(PolicyState).where(PolicyState.id == 1).with_for_update())
    if state is None:
        session.add(PolicyState(id=1, revision=0))
        await session.flush()


# Attributes whose change alters the Casbin policy; a flush touching one marks the
# session so that the session dependency syncs the policy before it commits.
POLICY_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    User: ("roles", "groups"),
    Role: ("permissions",),
    Group: ("members",),
    Permission: ("model", "action", "scope"),
}


def mark_policy_dirty(session: OrmSession, _context: object, _instances: object) -> None:
    """Before a flush: note in `session.info` whether it changes the Casbin policy."""
    if session.info.get(POLICY_DIRTY):
        return
    for obj in (*session.new, *session.deleted):
        if type(obj) in POLICY_ATTRIBUTES:
            session.info[POLICY_DIRTY] = True
            return
    for obj in session.dirty:
        names = POLICY_ATTRIBUTES.get(type(obj), ())
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in names):
            session.info[POLICY_DIRTY] = True
            return


POLICY_DIRTY = "policy_dirty"
# session.info key: the policy revision this session's sync wrote (built once committed).
POLICY_WRITTEN = "policy_written"
