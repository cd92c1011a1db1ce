"""Type-checks an expression against the schema (stub: replaced by the real checker)."""

import re
from collections.abc import Mapping
from typing import Any

from app.core.conditions.errors import ConditionError

_MODELS: dict[str, Any] = {}


def install_catalog(models: Mapping[str, Any]) -> None:
    """Name the tables conditions may be written over: policy model -> ORM class."""
    _MODELS.clear()
    _MODELS.update(models)


def check_condition(model: str, expression: str) -> None:
    """Refuse (ConditionError) an expression that is not a condition over `model`."""
    if model not in _MODELS:
        raise ConditionError(f"unknown model `{model}`", -1)
    if not expression.strip():
        raise ConditionError("an expression is required at 0", 0)
    columns = _MODELS[model].__table__.columns.keys()
    for match in re.finditer(r"record\.([a-z_]+)", expression):
        if match.group(1) not in columns:
            where = match.start(1)
            raise ConditionError(
                f"unknown column `{match.group(1)}` of {model} at {where}; "
                f"columns: {', '.join(columns)}",
                where,
            )
