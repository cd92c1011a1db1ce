"""The Casbin rules the permissions tables call for, and the statements that compare them
with the rules stored in `casbin_rule` (for the subjects a change touched, or all of them).

Beside Casbin's `p`, `g` and `g2` lines the policy holds each role's name and each
condition (`app/core/policy_facts.py`): `n, r:<id>, <name>` and
`c, <id>, <model>, <name>, , , <expression>`; a grant's line ends with its condition's id.
"""

from collections.abc import Sequence
from itertools import takewhile
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)

from app.core.policy_lines import is_value
from app.crud.policy_scope import PolicyScope
from app.models import (
    CasbinRule,
    Condition,
    Permission,
    Role,
    role_permissions,
    user_groups,
    user_roles,
)
from app.models.permission import MODEL_NAME

Rule = tuple[str, ...]
COLUMNS = ["ptype", "v0", "v1", "v2", "v3", "v4", "v5"]
TEXT = String(255)


def well_formed(model: str) -> bool:
    """Whether a permission's model can be a Casbin rule: one that cannot (put in the table
    by hand; the API refuses it) is never synced, and `policy lint` reports it."""
    return MODEL_NAME.fullmatch(model) is not None


def rule_of(row: Any) -> Rule:
    """The rule a `casbin_rule` row holds (its ptype, then its values up to the first NULL)."""
    return values_rule((row.ptype, row.v0, row.v1, row.v2, row.v3, row.v4, row.v5))


def values_rule(values: Sequence[str | None]) -> Rule:
    """The rule of `(ptype, v0, v1, ...)`: its values up to the first NULL, as Casbin loads it."""
    return (values[0], *takewhile(is_value, values[1:]))  # type: ignore[return-value]


def _subject(prefix: str, column: Any, label: str = "v0") -> ColumnElement[str]:
    return (literal(prefix) + cast(column, String)).label(label)


def _links(
    ptype: str, table: Any, other: str, prefix: str, users: set[int], others: set[int] | None
) -> Select[Any]:
    """The `g`-like rules of a link table (user -> role or group): `u:<user>, <prefix><id>`,
    within the scope's users and `others` unless `others` is None (everything)."""
    found = select(
        literal(ptype, TEXT),
        _subject("u:", table.c.user_id),
        _subject(prefix, table.c[other], "v1"),
        *_nulls("v2", "v3", "v4", "v5"),
    )
    if others is None:
        return found
    return found.where(
        _any(
            [table.c.user_id.in_(users)] if users else [],
            [table.c[other].in_(others)] if others else [],
        )
    )


def _nulls(*labels: str) -> list[Any]:
    return [cast(null(), TEXT).label(label) for label in labels]


def desired_select(scope: PolicyScope | None, malformed: list[int]) -> Select[Any]:
    """The rules the permissions tables call for (within `scope`), as one SELECT of
    `ptype, v0, ..., v5`."""
    grants = (
        select(
            literal("p", TEXT).label("ptype"),
            _subject("r:", role_permissions.c.role_id),
            Permission.model.label("v1"),
            Permission.action.label("v2"),
            Permission.scope.label("v3"),
            cast(Permission.condition_id, TEXT).label("v4"),
            *_nulls("v5"),
        )
        .join_from(role_permissions, Permission, Permission.id == role_permissions.c.permission_id)
        .where(Permission.id.not_in(malformed) if malformed else True)
    )
    users, roles, groups = (set(), None, None) if scope is None else scope.subjects
    holders = _links("g", user_roles, "role_id", "r:", users, roles)
    members = _links("g2", user_groups, "group_id", "g:", users, groups)
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
    names = select(
        literal("n", TEXT), _subject("r:", Role.id), Role.name.label("v1"), *_nulls(*COLUMNS[3:])
    )
    conditions = select(
        literal("c", TEXT),
        cast(Condition.id, TEXT).label("v0"),
        Condition.model.label("v1"),
        Condition.name.label("v2"),
        literal("", TEXT).label("v3"),
        literal("", TEXT).label("v4"),
        Condition.expression.label("v5"),
    )
    if scope is not None:
        names = names.where(Role.id.in_(scope.roles) if scope.roles else false())
        chosen = scope.conditions
        conditions = conditions.where(Condition.id.in_(chosen) if chosen else false())
    return union_all(grants, holders, members, names, conditions)  # type: ignore[return-value]


def _any(*parts: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    clauses = [clause for part in parts for clause in part]
    return or_(*clauses) if clauses else false()


def stored_where(scope: PolicyScope | None) -> ColumnElement[bool]:
    """The `casbin_rule` rows a sync of `scope` owns (all of them without one)."""
    if scope is None:
        return literal(True) == literal(True)
    rule = CasbinRule.__table__.c
    roles = [f"r:{i}" for i in sorted(scope.roles)]
    conditions = [str(i) for i in sorted(scope.conditions)]
    users = [f"u:{i}" for i in sorted(scope.users)]
    groups = [f"g:{i}" for i in sorted(scope.groups)]
    return _any(
        [
            and_(rule.ptype.in_(("p", "n")), rule.v0.in_(roles)),
            and_(rule.ptype == "g", rule.v1.in_(roles)),
        ]
        if roles
        else [],
        [and_(rule.ptype == "c", rule.v0.in_(conditions))] if conditions else [],
        [and_(rule.ptype.in_(("g", "g2")), rule.v0.in_(users))] if users else [],
        [and_(rule.ptype == "g2", rule.v1.in_(groups))] if groups else [],
        [
            and_(rule.ptype == "p", rule.v1 == m, rule.v2 == a, rule.v3 == s)
            for m, a, s in sorted(scope.grants)
        ],
    )


# The full sync's desired rules, materialized for the statements that compare them with the
# stored ones (a union of three joins gives the planner no statistics to join by).
WANTED = Table(
    "policy_wanted",
    MetaData(),
    *(Column(name, String(255)) for name in COLUMNS[:-1]),
    Column("v5", Text),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# On SQLite, whose planner would otherwise scan it per stored row.
WANTED_INDEX = Index("ix_policy_wanted", WANTED.c.ptype, WANTED.c.v0, WANTED.c.v1)


def _same(left: Any, right: Any, names: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """`left` and `right` hold the same values in these columns, NULL equal to NULL, in the
    form each database can look up by: on PostgreSQL equalities a hash join can use (a NULL
    compared apart from the values), on SQLite `IS`, which it finds by index."""
    if dialect == "sqlite":
        return and_(*(left[name].is_not_distinct_from(right[name]) for name in names))
    return and_(
        *(
            and_(
                func.coalesce(left[name], "") == func.coalesce(right[name], ""),
                left[name].is_(None) == right[name].is_(None),
            )
            for name in names
        )
    )


def full_plan(dialect: str) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """Return, against WANTED: the rules to add (`ptype, v0..v5`); the rows of rules no longer
    wanted (`id, ptype, v0..v5`, every row of each); the rows repeating an earlier row."""
    table = CasbinRule.__table__
    rule, w = table.c, WANTED.c
    everything = ("ptype", "v0", "v1", "v2", "v3", "v4", "v5")
    # A wanted rule's ptype, v0 and v1 are never NULL: plain equalities find it.
    wanted = and_(
        rule.ptype == w.ptype,
        rule.v0 == w.v0,
        rule.v1 == w.v1,
        _same(rule, w, ("v2", "v3", "v4", "v5"), dialect),
    )
    missing = select(*w).where(~exists().where(wanted))
    # A row that is not the first of its rule (GROUP BY takes NULLs as equal). PostgreSQL
    # finds them by a join: it hashes `id NOT IN (subquery)` only while the ids fit in
    # work_mem, and otherwise scans the subquery once per row. SQLite indexes the
    # subquery of a NOT IN, and would scan a joined one per row.
    first = select(func.min(rule.id).label("id")).group_by(*(rule[name] for name in everything))
    unwanted = select(table).where(~exists().where(wanted))
    if dialect == "sqlite":
        duplicates = select(table).where(rule.id.not_in(first))
    else:
        firsts = first.subquery("first")
        duplicates = (
            select(table)
            .select_from(table.outerjoin(firsts, firsts.c.id == rule.id))
            .where(firsts.c.id.is_(None))
        )
    return missing, unwanted, duplicates
