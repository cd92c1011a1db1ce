"""Decisions: may this user do this to this record, and which records may they?

One module answers both from the same scopes of the same enforcer, so a list never shows
a record the per-record decision refuses, nor hides one it allows. A decision takes the
record's attributes (as stored, or as a write would leave them), never a pair of columns:
what a rule reads of a record is read here, in one place. A conditioned grant adds, to the
filter, its condition compiled to SQL (`app/core/conditions/sql.py`) and, to the decision,
the same condition evaluated on the record (`holds()` in Casbin's matcher).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, bindparam, false, or_

from app.core.conditions.checker import catalog
from app.core.conditions.compiled import Condition
from app.core.conditions.evaluate import VARIABLES, Needs, View
from app.core.conditions.sql import TYPES, Context, where
from app.core.conditions.tree import Var, tests_of
from app.core.enforcer import PolicyEngine, Scopes

# The attributes a decision reads of every record: who owns it, and which group.
OWNER_USER = "owner_user_id"
OWNER_GROUP = "owner_group_id"
# How deep `can()` may send a filter to another table's filter (conditions are checked
# against cycles when saved; this bounds one written to the table by hand).
MAX_PERMIT_DEPTH = 8


def attribute(record: Any, name: str) -> Any:
    """Return a record's attribute: an ORM object's or a row's, a mapping's key (a record
    as a write would leave it), or a condition view's. None when it has no such attribute."""
    if isinstance(record, Mapping | View):
        return record.get(name)
    return getattr(record, name, None)


def decide(
    policy: PolicyEngine, user_id: int, model: str, action: str, record: Any, asked: Any = None
) -> bool:
    """Decide whether user `user_id` may `action` the `record` of policy model `model`
    (`asked`: the record as conditions read it, when the user's grants carry any)."""
    return policy.allows(
        user_id,
        model,
        action,
        attribute(record, OWNER_USER),
        attribute(record, OWNER_GROUP),
        asked,
    )


@dataclass(frozen=True)
class ConditionPart:
    """One condition's grants in a filter: the condition, the rows its grants reach
    (`reach`, a RowScope of its own), and the filters `can()` asks of other tables."""

    condition: Condition
    reach: "RowScope"
    permits: dict[tuple[str, str], "RowScope"]
    prefix: str
    variables: tuple[Var, ...]

    def clause(
        self, table: FromClause, parameter: Any, bound: bool, outermost: bool = True
    ) -> ColumnElement[bool]:
        """Where the condition holds, within the rows its grants reach."""

        def variable(name: str, kind: str) -> Any:
            listed = kind.endswith(" list")
            return parameter(
                f"{self.prefix}_{name.replace('.', '_')}",
                expanding=listed,
                kind=kind.removesuffix(" list"),
            )

        def can(action: str, model: str, alias: FromClause) -> ColumnElement[bool] | None:
            nested = self.permits.get((action, model))
            if nested is None:
                return false()
            return nested.clause(alias, bound=bound, outermost=False)

        tree = self.condition.tree
        assert tree is not None
        context = Context(catalog(), variable, can)
        holds = where(tree, table, context, outermost=outermost)
        reach = self.reach.clause(table, bound=bound)
        return holds if reach is None else and_(holds, reach)


@dataclass(frozen=True)
class RowScope:
    """The rows some scopes allow, as SQL kept in two parts: the clause's shape, which
    statements built once can be cached by, and the values its parameters take."""

    shape: tuple[Any, ...]  # ("all",), ("none",), "own" and/or "group", conditions' parts
    values: tuple[tuple[str, Any], ...] = ()
    # What its parameters are called after: one statement can hold the scopes of several
    # tables (a list's, and those of the records it names), each with its own values.
    prefix: str = "scope"
    parts: tuple[ConditionPart, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, scopes: Scopes, prefix: str = "scope") -> "RowScope":
        """The unconditioned part of `scopes`."""
        if scopes.all:
            return cls(("all",), prefix=prefix)
        shape: list[str] = []
        values: list[tuple[str, Any]] = []
        if scopes.own:
            shape.append("own")
            values.append((f"{prefix}_user", scopes.user_id))
        if scopes.group_ids:
            shape.append("group")
            values.append((f"{prefix}_groups", sorted(scopes.group_ids)))
        return cls(tuple(shape) or ("none",), tuple(values), prefix)

    @property
    def looks_up(self) -> bool:
        """Whether its filter looks up other records for each row it tests: a condition
        asking `can()` or `any()` (a list then counts less far, `LOOKUP_COUNT_CAP`)."""
        if self.shape == ("all",):
            return False
        return any(_looks_up(part.condition.needs) for part in self.parts)

    def clause(
        self, model: Any, *, bound: bool = False, outermost: bool = True
    ) -> ColumnElement[bool] | None:
        """Return the WHERE clause of this shape on `model` (an ORM class or a table; None:
        all rows): its values left as required parameters, for a statement built once and
        run with `values`; or `bound` in."""
        if self.shape == ("all",):
            return None
        table: FromClause = getattr(model, "__table__", model)
        values = dict(self.values)

        def parameter(name: str, expanding: bool = False, kind: str = "") -> Any:
            type_ = TYPES[kind]() if kind else None
            if bound:
                return bindparam(name, values[name], expanding=expanding, type_=type_)
            return bindparam(name, required=True, expanding=expanding, type_=type_)

        clauses: list[ColumnElement[bool]] = []
        if "own" in self.shape:
            clauses.append(table.c[OWNER_USER] == parameter(f"{self.prefix}_user"))
        if "group" in self.shape:
            groups = parameter(f"{self.prefix}_groups", expanding=True)
            clauses.append(table.c[OWNER_GROUP].in_(groups))
        for part in self.parts:
            clauses.append(part.clause(table, parameter, bound, outermost))
        return or_(*clauses) if clauses else false()


def _looks_up(needs: Needs) -> bool:
    return bool(needs.manys or needs.permits) or any(map(_looks_up, needs.ones.values()))


def variables_of(condition: Condition) -> tuple[Var, ...]:
    """The subject's values and the clock a condition reads, each once."""
    found: dict[str, Var] = {}
    if condition.tree is None:
        return ()
    for test in tests_of(condition.tree):
        for value in _values(test):
            if isinstance(value, Var):
                found.setdefault(value.name, value)
    return tuple(found.values())


def _values(test: Any) -> list[Any]:
    found = [getattr(test, name, None) for name in ("left", "right", "value", "items")]
    return [value for value in found if value is not None]


def variable_value(name: str, subject: Any, now: datetime) -> Any:
    """The value of `subject.*`, `now` or `today` for this request (lists sorted)."""
    found = VARIABLES[name](subject, now)
    return sorted(found) if isinstance(found, frozenset) else found


def row_scope(
    policy: PolicyEngine,
    user_id: int,
    model: str,
    action: str,
    prefix: str = "scope",
    *,
    username: str = "",
    now: datetime | None = None,
    depth: int = 0,
) -> RowScope:
    """Return the rows of policy model `model` the user may `action`, as SQL in two parts."""
    scopes = policy.scopes(user_id, model, action)
    base = RowScope.of(scopes, prefix)
    if not scopes.conditional or scopes.all:
        return base
    if depth >= MAX_PERMIT_DEPTH:
        return base  # a loop written by hand: the conditions' grants add no rows
    now = now or datetime.now(UTC)
    subject = policy.subject(user_id, username)
    shape: list[Any] = list(base.shape if base.shape != ("none",) else ())
    values = list(base.values)
    parts: list[ConditionPart] = []
    for number, conditional in enumerate(scopes.conditional):
        at = f"{prefix}_c{number}"
        reach = RowScope.of(
            Scopes(user_id, conditional.all, conditional.own, conditional.group_ids), at
        )
        permits: dict[tuple[str, str], RowScope] = {}
        for permit in conditional.condition.permits:
            key = (permit.action, permit.model)
            if key not in permits:
                permits[key] = row_scope(
                    policy,
                    user_id,
                    permit.model,
                    permit.action,
                    f"{at}_{len(permits)}",
                    username=username,
                    now=now,
                    depth=depth + 1,
                )
        variables = variables_of(conditional.condition)
        part = ConditionPart(conditional.condition, reach, permits, at, variables)
        parts.append(part)
        values += reach.values
        values += [
            (f"{at}_{v.name.replace('.', '_')}", variable_value(v.name, subject, now))
            for v in variables
        ]
        for nested in permits.values():
            values += nested.values
        shape.append(
            (
                "if",
                conditional.condition.signature,
                reach.shape,
                tuple((key, nested.shape) for key, nested in permits.items()),
            )
        )
    return RowScope(tuple(shape), tuple(values), prefix, tuple(parts))


def row_filter(
    policy: PolicyEngine,
    user_id: int,
    model: str,
    action: str,
    table: Any,
    *,
    username: str = "",
    now: datetime | None = None,
) -> ColumnElement[bool] | None:
    """Return the WHERE clause on `table` selecting exactly the rows `decide` allows the
    user to `action` (None: all of them)."""
    scope = row_scope(policy, user_id, model, action, username=username, now=now)
    return scope.clause(table, bound=True)
