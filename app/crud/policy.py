"""Sync the permissions tables into Casbin's policy rows, in the caller's transaction.

A request's change syncs only the lines of the subjects it touched (a role's grants and
holders, a user's roles and groups, a group's members, the holders of a permission): both
sides read by index, compared here. `policy sync` reconciles everything: the difference is
computed by the database, streamed in batches, and written by one `INSERT ... SELECT` and two
`DELETE ... WHERE id IN (SELECT ...)`, so memory and statement size stay bounded at any
policy size. The new revision is announced with what it changed.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Select,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable

from app.core.policy_lines import POLICY_CHANGE_KEPT, POLICY_CHANNEL, Change, encode_notice
from app.crud import audit
from app.crud.policy_rules import (
    COLUMNS,
    WANTED,
    WANTED_INDEX,
    Rule,
    desired_select,
    full_plan,
    rule_of,
    stored_where,
    values_rule,
    well_formed,
)
from app.crud.policy_scope import POLICY_WRITTEN, PolicyScope
from app.models import (
    CasbinRule,
    Permission,
    PolicyChange,
    PolicyState,
)

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
# Permissions are matched by one clause each (SQLite allows an expression 1,000 deep).
GRANTS_MOST = 200
# Revisions whose changes stay in `policy_change` for processes catching up.
CHANGES_KEPT = 1_000

Report = Callable[[str, list[Rule]], None]


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
        if scope.size > SCOPE_MOST or len(scope.grants) > GRANTS_MOST:
            scope = None
    diff = PolicyDiff()
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

    if scope is None:
        written = await _sync_all(session, take, dry_run=dry_run)
    else:
        written = await _sync_scope(session, scope, take, dry_run=dry_run)
    for kind in KINDS:
        getattr(diff, kind).sort()
    if not written:
        return diff
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


Take = Callable[[str, list[Rule]], None]


async def _sync_scope(
    session: AsyncSession, scope: PolicyScope, take: Take, *, dry_run: bool
) -> bool:
    """Sync the lines of the scope's subjects: both sides read by index (a few rows), compared
    here; whether anything was written."""
    desired = {
        rule
        for rule in map(values_rule, await session.execute(desired_select(scope, [])))
        if rule[0] != "p" or well_formed(rule[2])
    }
    table = CasbinRule.__table__
    # Ordered here, not by the database: with ORDER BY id, PostgreSQL's plan for a prepared
    # statement may walk the whole table by its primary key instead of the subject's index.
    rows = sorted(
        await session.execute(select(table).where(stored_where(scope))), key=itemgetter(0)
    )
    seen: set[Rule] = set()
    stale: list[tuple[int, Rule, bool]] = []
    for row in rows:
        rule = values_rule(tuple(row)[1:])
        if rule in seen:
            stale.append((row.id, rule, True))
        else:
            seen.add(rule)
            if rule not in desired:
                stale.append((row.id, rule, False))
    missing = sorted(desired - seen)
    take("removed", [rule for _, rule, duplicate in stale if not duplicate])
    take("duplicates", [rule for _, rule, duplicate in stale if duplicate])
    take("added", missing)
    if dry_run or not (stale or missing):
        return False
    ids = [row_id for row_id, _, _ in stale]
    for start in range(0, len(ids), BATCH):
        await session.execute(delete(table).where(table.c.id.in_(ids[start : start + BATCH])))
    if missing:
        await session.execute(
            # Every column in every row: a multi-row INSERT takes its columns from the first.
            insert(table),
            [{name: next(values, None) for name in COLUMNS} for values in map(iter, missing)],
        )
    return True


async def _sync_all(session: AsyncSession, take: Take, *, dry_run: bool) -> bool:
    """Sync every line: the desired rules materialized in a temporary table, the difference
    computed by the database and streamed, written by three statements; whether anything was."""
    dialect = session.get_bind().dialect.name
    await session.execute(DropTable(WANTED, if_exists=True))
    await session.execute(CreateTable(WANTED))
    malformed = await _malformed(session)
    await session.execute(insert(WANTED).from_select(COLUMNS, desired_select(None, malformed)))
    await session.execute(CreateIndex(WANTED_INDEX))
    if dialect == "postgresql":
        await session.execute(text(f"ANALYZE {WANTED.name}"))  # the planner's statistics
    missing, unwanted, duplicates = full_plan(dialect)
    table = CasbinRule.__table__
    # Rows after the first of their rule: a few, when any (a table edited by hand).
    repeats = {row[0]: values_rule(row[1:]) for row in await session.execute(duplicates)}
    unwanted_rows = 0
    async for rows in _stream(session, unwanted):  # a rule once; its other rows are repeats
        take("removed", [values_rule(row[1:]) for row in rows if row[0] not in repeats])
        unwanted_rows += len(rows)
    take("duplicates", list(repeats.values()))
    added = 0
    async for rows in _stream(session, missing):
        take("added", [values_rule(row) for row in rows])
        added += len(rows)
    if not dry_run and (unwanted_rows or repeats):
        for stale in (unwanted, duplicates):  # every row of unwanted rules, then repeats
            ids = select(stale.subquery().c.id)
            await session.execute(delete(table).where(table.c.id.in_(ids)))
    if not dry_run and added:
        # In rule order: the rows' ids follow their rules, as they always have.
        await session.execute(insert(table).from_select(COLUMNS, missing.order_by(*WANTED.c)))
    await session.execute(DropTable(WANTED))
    return not dry_run and bool(unwanted_rows or repeats or added)


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
    return {values_rule(row) for row in await session.execute(statement)}


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
