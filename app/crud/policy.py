"""Sync the permissions tables into Casbin's policy rows, in the caller's transaction.

A request's change syncs only the lines of the subjects it touched (a role's grants and
holders, a user's roles and groups, a group's members, the holders of a permission); `policy
sync` reconciles everything. Both compute the difference in the database (set operations,
no statement longer than its own text), stream it in batches, and write it with one
`INSERT ... SELECT` and one `DELETE ... WHERE id IN (SELECT ...)`: memory and statement size
stay bounded at any policy size. The new revision is announced with what it changed.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.policy_lines import POLICY_CHANGE_KEPT, POLICY_CHANNEL, Change, encode_notice
from app.crud import audit
from app.crud.policy_scope import POLICY_WRITTEN, PolicyScope
from app.models import (
    CasbinRule,
    Permission,
    PolicyChange,
    PolicyState,
    role_permissions,
    user_groups,
    user_roles,
)
from app.models.permission import MODEL_NAME

Rule = tuple[str, ...]
# Rows read per round trip while streaming a difference.
BATCH = 5_000
# A diff keeps (and the audit entry lists) at most this many rules of each kind; the counts
# are always exact. A revision describes its changes (for processes to apply) up to
# POLICY_CHANGE_KEPT lines; beyond that they reload.
DIFF_KEPT = 10_000
AUDIT_KEPT = 1_000
# A scope touching more subjects than this is synced in full (one statement per subject
# kind would otherwise carry that many parameters).
SCOPE_MOST = 5_000
# Revisions whose changes stay in `policy_change` for processes catching up.
CHANGES_KEPT = 1_000

Report = Callable[[str, list[Rule]], None]
COLUMNS = ["ptype", "v0", "v1", "v2", "v3"]


@dataclass
class PolicyDiff:
    """What a sync adds to and removes from the Casbin table: missing rules, stale ones,
    and the extra rows of a rule stored more than once (one rule per extra row). The lists
    hold at most DIFF_KEPT rules each, sorted; the counts are exact."""

    added: list[Rule] = field(default_factory=list)
    removed: list[Rule] = field(default_factory=list)
    duplicates: list[Rule] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def changed(self) -> bool:
        return any(self.counts.values())

    def keep(self, kind: str, rules: list[Rule]) -> None:
        self.counts[kind] += len(rules)
        kept: list[Rule] = getattr(self, kind)
        kept.extend(rules[: max(0, DIFF_KEPT - len(kept))])


KINDS = ("added", "removed", "duplicates")


def well_formed(model: str) -> bool:
    """Whether a permission's model can be a Casbin rule: one that cannot (put in the table
    by hand; the API refuses it) is never synced, and `policy lint` reports it."""
    return MODEL_NAME.fullmatch(model) is not None


def rule_of(row: Any) -> Rule:
    """The rule a `casbin_rule` row holds (its ptype, then its values up to the first NULL)."""
    values = [getattr(row, f"v{i}", None) for i in range(6)]
    return (row.ptype, *(v for v in values if v is not None))


def _subject(prefix: str, column: Any) -> ColumnElement[str]:
    return (literal(prefix) + cast(column, String)).label("v0")


def desired_select(scope: PolicyScope | None, malformed: list[int]) -> Select[Any]:
    """The Casbin rules the permissions tables call for (within `scope`), as one SELECT of
    `ptype, v0, v1, v2, v3`."""
    text = String(255)
    grants = (
        select(
            literal("p", text).label("ptype"),
            _subject("r:", role_permissions.c.role_id),
            Permission.model.label("v1"),
            Permission.action.label("v2"),
            Permission.scope.label("v3"),
        )
        .join_from(role_permissions, Permission, Permission.id == role_permissions.c.permission_id)
        .where(Permission.id.not_in(malformed) if malformed else True)
    )
    holders = select(
        literal("g", text),
        _subject("u:", user_roles.c.user_id),
        (literal("r:") + cast(user_roles.c.role_id, String)).label("v1"),
        cast(null(), text).label("v2"),
        cast(null(), text).label("v3"),
    )
    members = select(
        literal("g2", text),
        _subject("u:", user_groups.c.user_id),
        (literal("g:") + cast(user_groups.c.group_id, String)).label("v1"),
        cast(null(), text).label("v2"),
        cast(null(), text).label("v3"),
    )
    if scope is not None:
        grants = grants.where(
            _any(
                [role_permissions.c.role_id.in_(scope.roles)] if scope.roles else [],
                [
                    and_(Permission.model == m, Permission.action == a, Permission.scope == s)
                    for m, a, s in sorted(scope.grants)
                ],
            )
        )
        holders = holders.where(
            _any(
                [user_roles.c.user_id.in_(scope.users)] if scope.users else [],
                [user_roles.c.role_id.in_(scope.roles)] if scope.roles else [],
            )
        )
        members = members.where(
            _any(
                [user_groups.c.user_id.in_(scope.users)] if scope.users else [],
                [user_groups.c.group_id.in_(scope.groups)] if scope.groups else [],
            )
        )
    return union_all(grants, holders, members)  # type: ignore[return-value]


def _any(*parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    clauses = [clause for part in parts for clause in part]
    return or_(*clauses) if clauses else false()


def stored_where(scope: PolicyScope | None) -> ColumnElement[bool]:
    """The `casbin_rule` rows a sync of `scope` owns (all of them without one)."""
    if scope is None:
        return literal(True) == literal(True)
    rule = CasbinRule.__table__.c
    roles = [f"r:{i}" for i in sorted(scope.roles)]
    users = [f"u:{i}" for i in sorted(scope.users)]
    groups = [f"g:{i}" for i in sorted(scope.groups)]
    return _any(
        [and_(rule.ptype == "p", rule.v0.in_(roles)), and_(rule.ptype == "g", rule.v1.in_(roles))]
        if roles
        else [],
        [and_(rule.ptype.in_(("g", "g2")), rule.v0.in_(users))] if users else [],
        [and_(rule.ptype == "g2", rule.v1.in_(groups))] if groups else [],
        [
            and_(rule.ptype == "p", rule.v1 == m, rule.v2 == a, rule.v3 == s)
            for m, a, s in sorted(scope.grants)
        ],
    )


def _plan(scope: PolicyScope | None, malformed: list[int]) -> tuple[Select[Any], Select[Any]]:
    """Return (missing rules, stale rows): the rules to add, as `ptype, v0..v3`; and the rows
    to delete, as `id, ptype, v0..v5, duplicate` (a row that is not the first of its rule)."""
    rule = CasbinRule.__table__.c
    where = stored_where(scope)
    desired = desired_select(scope, malformed)
    stored = select(rule.ptype, rule.v0, rule.v1, rule.v2, rule.v3).where(
        rule.v4.is_(None), rule.v5.is_(None), where
    )
    wanted = desired.subquery("wanted")
    missing = select(*wanted.c).except_(stored)
    values = (rule.ptype, rule.v0, rule.v1, rule.v2, rule.v3, rule.v4, rule.v5)
    ranked = (
        select(
            rule.id,
            *values,
            func.row_number().over(partition_by=values, order_by=rule.id).label("n"),
        )
        .where(where)
        .subquery("ranked")
    )
    r, w = ranked.c, wanted.c
    # Equalities a hash join can use; NULLs (a `g` rule's v2, v3) compared apart.
    same = and_(
        r.ptype == w.ptype,
        r.v0 == w.v0,
        r.v1 == w.v1,
        func.coalesce(r.v2, "") == func.coalesce(w.v2, ""),
        r.v2.is_(None) == w.v2.is_(None),
        func.coalesce(r.v3, "") == func.coalesce(w.v3, ""),
        r.v3.is_(None) == w.v3.is_(None),
        r.v4.is_(None),
        r.v5.is_(None),
    )
    stale = (
        select(r.id, r.ptype, r.v0, r.v1, r.v2, r.v3, r.v4, r.v5, (r.n > 1).label("duplicate"))
        .select_from(ranked.outerjoin(wanted, same))
        .where(or_(r.n > 1, w.ptype.is_(None)))
    )
    return missing, stale


async def _malformed(session: AsyncSession) -> list[int]:
    return [
        permission_id
        for permission_id, model in await session.execute(select(Permission.id, Permission.model))
        if not well_formed(model)
    ]


async def _stream(session: AsyncSession, statement: Select[Any]) -> Any:
    result = await session.stream(statement.execution_options(yield_per=BATCH))
    async for rows in result.partitions(BATCH):
        yield rows


async def sync_policy(
    session: AsyncSession,
    *,
    dry_run: bool = False,
    scope: PolicyScope | None = None,
    report: Report | None = None,
) -> PolicyDiff:
    """Make the Casbin table equal the permissions tables (only the lines of `scope`'s
    subjects when given); bump the revision on change and announce what changed.

    `report(kind, rules)` is called per batch ("added", "removed", "duplicates") as the
    difference streams in, so a caller can show every rule without holding them all.
    """
    if not dry_run:
        await _lock_policy(session)
    await session.flush()
    if scope is not None:
        scope.resolve()
        if scope.size > SCOPE_MOST:
            scope = None
    diff = PolicyDiff()
    missing, stale = _plan(scope, await _malformed(session))
    changes: list[Change] | None = []

    def take(kind: str, rules: list[Rule]) -> None:
        nonlocal changes
        rules.sort()
        diff.keep(kind, rules)
        if report is not None:
            report(kind, rules)
        if kind != "duplicates" and changes is not None:
            sign = "+" if kind == "added" else "-"
            changes.extend((sign, *rule) for rule in rules)
            if len(changes) > POLICY_CHANGE_KEPT:
                changes = None

    async for rows in _stream(session, stale):
        take("removed", [rule_of(row) for row in rows if not row.duplicate])
        take("duplicates", [rule_of(row) for row in rows if row.duplicate])
    async for rows in _stream(session, missing):
        take("added", [rule_of(row) for row in rows])
    for kind in KINDS:
        getattr(diff, kind).sort()
    if dry_run or not diff.changed:
        return diff
    if diff.counts["removed"] or diff.counts["duplicates"]:
        await session.execute(
            delete(CasbinRule).where(CasbinRule.id.in_(select(stale.subquery().c.id)))
        )
    if diff.counts["added"]:
        await session.execute(
            # In rule order: the rows' ids follow their rules, as they always have.
            insert(CasbinRule).from_select(COLUMNS, missing.order_by(*COLUMNS))
        )
    revision = await session.scalar(
        update(PolicyState)
        .values(revision=PolicyState.revision + 1)
        .returning(PolicyState.revision)
    )
    assert revision is not None  # the lock above made the row
    await announce(session, revision, changes)
    await audit.record(
        session, "policy_sync", resource="casbin_rule", changes=audited(diff, revision)
    )
    return diff


def audited(diff: PolicyDiff, revision: int) -> dict[str, Any]:
    """The audit entry's changes: the revision, the counts, and the rules (at most
    AUDIT_KEPT of each kind; `truncated` says when there were more)."""
    names = {"added": "added", "removed": "removed", "duplicates": "duplicates_removed"}
    entry: dict[str, Any] = {"revision": revision}
    for kind, name in names.items():
        entry[name] = [", ".join(rule) for rule in getattr(diff, kind)[:AUDIT_KEPT]]
    if any(count > AUDIT_KEPT for count in diff.counts.values()):
        entry["counts"] = dict(diff.counts)
        entry["truncated"] = True
    return entry


async def announce(session: AsyncSession, revision: int, changes: list[Change] | None) -> None:
    """Record what `revision` changed (for processes catching up) and, on PostgreSQL, notify
    every listening process at commit (nothing if rolled back)."""
    session.add(
        PolicyChange(revision=revision, changes=None if changes is None else json.dumps(changes))
    )
    await session.execute(
        delete(PolicyChange).where(PolicyChange.revision <= revision - CHANGES_KEPT)
    )
    if session.get_bind().dialect.name == "postgresql":
        notice = encode_notice(revision, changes)
        await session.execute(select(func.pg_notify(POLICY_CHANNEL, notice)))
    session.info[POLICY_WRITTEN] = (revision, changes)
    await session.flush()


async def desired_rules(session: AsyncSession) -> set[Rule]:
    """Return every Casbin rule the permissions tables call for (for checks and tests)."""
    statement = desired_select(None, await _malformed(session))
    return {rule_of(row) for row in await session.execute(statement)}


async def stored_rules(session: AsyncSession) -> dict[Rule, list[int]]:
    """Return the stored Casbin rules with the ids of their rows (duplicates included)."""
    found: dict[Rule, list[int]] = {}
    for row in await session.execute(select(CasbinRule.__table__).order_by(CasbinRule.id)):
        found.setdefault(rule_of(row), []).append(row.id)
    return found


async def _lock_policy(session: AsyncSession) -> None:
    """Serialize syncs: take the policy row's lock (creating the row on first use)."""
    state = await session.scalar(select(PolicyState).where(PolicyState.id == 1).with_for_update())
    if state is None:
        session.add(PolicyState(id=1, revision=0))
        await session.flush()
