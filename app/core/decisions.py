"""Decisions: may this user do this to this record, and which records may they?

One module answers both from the same scopes of the same enforcer, so a list never shows
a record the per-record decision refuses, nor hides one it allows. A decision takes the
record's attributes (as stored, or as a write would leave them), never a pair of columns:
what a later rule reads of a record is read here, in one place.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, or_

from app.core.enforcer import PolicyEngine, Scopes

# The attributes a decision reads today: who owns the record, and which group.
OWNER_USER = "owner_user_id"
OWNER_GROUP = "owner_group_id"


def attribute(record: Any, name: str) -> Any:
    """Return a record's attribute: an ORM object's or a row's, or a mapping's key (a record
    as a write would leave it). None when it has no such attribute."""
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def decide(policy: PolicyEngine, user_id: int, model: str, action: str, record: Any) -> bool:
    """Decide whether user `user_id` may `action` the `record` of policy model `model`."""
    return policy.allows(
        user_id, model, action, attribute(record, OWNER_USER), attribute(record, OWNER_GROUP)
    )


@dataclass(frozen=True)
class RowScope:
    """The rows some scopes allow, as SQL kept in two parts: the clause's shape, which
    statements built once can be cached by, and the values its parameters take."""

    shape: tuple[str, ...]  # ("all",), ("none",), or "own" and/or "group"
    values: tuple[tuple[str, Any], ...] = ()
    # What its parameters are called after: one statement can hold the scopes of several
    # tables (a list's, and those of the records it names), each with its own values.
    prefix: str = "scope"

    @classmethod
    def of(cls, scopes: Scopes, prefix: str = "scope") -> "RowScope":
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

    def clause(self, model: Any, *, bound: bool = False) -> ColumnElement[bool] | None:
        """Return the WHERE clause of this shape (None: all rows): its values left as required
        parameters, for a statement built once and run with `values`; or `bound` in."""
        if self.shape == ("all",):
            return None
        values = dict(self.values)

        def parameter(name: str, expanding: bool = False) -> Any:
            if bound:
                return bindparam(name, values[name], expanding=expanding)
            return bindparam(name, required=True, expanding=expanding)

        clauses: list[ColumnElement[bool]] = []
        if "own" in self.shape:
            clauses.append(getattr(model, OWNER_USER) == parameter(f"{self.prefix}_user"))
        if "group" in self.shape:
            groups = parameter(f"{self.prefix}_groups", expanding=True)
            clauses.append(getattr(model, OWNER_GROUP).in_(groups))
        return or_(*clauses) if clauses else false()


def row_scope(
    policy: PolicyEngine, user_id: int, model: str, action: str, prefix: str = "scope"
) -> RowScope:
    """Return the rows of policy model `model` the user may `action`, as SQL in two parts."""
    return RowScope.of(policy.scopes(user_id, model, action), prefix)


def row_filter(
    policy: PolicyEngine, user_id: int, model: str, action: str, table: Any
) -> ColumnElement[bool] | None:
    """Return the WHERE clause on `table` selecting exactly the rows `decide` allows the
    user to `action` (None: all of them)."""
    return row_scope(policy, user_id, model, action).clause(table, bound=True)
