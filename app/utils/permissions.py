"""Permission strings and the SQL filter that mirrors the enforcer's scopes."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, or_

from app.core.enforcer import Scopes
from app.models import ACTIONS, SCOPES


def parse_permission(text: str) -> tuple[str, str, str | None]:
    """Split `model:action[:scope]`; raise ValueError when it is not one."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise ValueError(f"not a permission: {text!r} (expected model:action[:scope])")
    model, action = parts[0], parts[1]
    scope = parts[2] if len(parts) == 3 else None
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} in {text!r}")
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r} in {text!r}")
    return model, action, scope


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
            clauses.append(model.owner_user_id == parameter(f"{self.prefix}_user"))
        if "group" in self.shape:
            groups = parameter(f"{self.prefix}_groups", expanding=True)
            clauses.append(model.owner_group_id.in_(groups))
        return or_(*clauses) if clauses else false()


def scope_clause(model: Any, scopes: Scopes) -> ColumnElement[bool] | None:
    """Return the WHERE clause selecting exactly the rows these scopes allow (None: all)."""
    return RowScope.of(scopes).clause(model, bound=True)
