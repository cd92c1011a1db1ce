"""Permission strings and the SQL filter that mirrors the enforcer's scopes."""

from typing import Any

from sqlalchemy import ColumnElement, false, or_

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


def scope_clause(model: Any, scopes: Scopes) -> ColumnElement[bool] | None:
    """Return the WHERE clause selecting exactly the rows these scopes allow (None: all)."""
    if scopes.all:
        return None
    clauses: list[ColumnElement[bool]] = []
    if scopes.own:
        clauses.append(model.owner_user_id == scopes.user_id)
    if scopes.group_ids:
        clauses.append(model.owner_group_id.in_(sorted(scopes.group_ids)))
    return or_(*clauses) if clauses else false()
