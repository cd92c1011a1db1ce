"""The checks of conditions and of the permissions that carry them, on the record as a write
would leave it: a condition's model is a permission model and its expression a condition
over that model's records (`app/core/conditions/`); a permission's condition is one of its
own model. Each refusal is an error at its field (422)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import crud
from app.core.conditions.checker import can_targets, check_condition
from app.core.conditions.errors import ConditionError
from app.core.errors import FieldError
from app.core.messages import one_of
from app.crud.base import Named
from app.models import Condition


async def condition_errors(
    *,
    session: AsyncSession,
    values: dict[str, Any],
    whole: dict[str, Any],
    named: Named,
    record: Any | None,
    models: Sequence[str],
) -> list[FieldError]:
    """A condition's model is a permission model; its expression, written or moved to
    another model, a condition over that model's records; a condition that permissions
    carry keeps its model (theirs)."""
    model = whole["model"]
    if model not in models:
        return [FieldError("model", f"a permission model, {one_of(models)}", "value_error")]
    if record is not None and model != record.model:
        used = await crud.permission.with_condition(session=session, condition_id=record.id)
        if used:
            message = (
                f"the model of the permissions that carry this condition ({', '.join(used)}):"
                f" {record.model}"
            )
            return [FieldError("model", message, "value_error")]
    if record is None or values.keys() & {"model", "expression"}:
        try:
            reaches = await _reaches(session, record.id if record is not None else None)
            check_condition(model, whole["expression"], reaches)
        except ConditionError as exc:
            return [FieldError("expression", str(exc), "condition")]
    return []


async def _reaches(session: AsyncSession, leaving: int | None) -> dict[str, set[str]]:
    """For each model, the models the other stored conditions of it name in `can()`: a new
    `can()` coming back through them would make a decision ask itself."""
    others = await session.scalars(select(Condition).where(Condition.id != leaving))
    return can_targets((condition.model, condition.expression) for condition in others)


async def permission_errors(
    *,
    session: AsyncSession,
    values: dict[str, Any],
    whole: dict[str, Any],
    named: Named,
    record: Any | None,
    models: Sequence[str],
) -> list[FieldError]:
    """A permission's condition is a condition of the permission's own model."""
    condition_id = whole.get("condition_id")
    if condition_id is None or not values.keys() & {"model", "condition_id"}:
        return []
    if "condition_id" in values:
        found = named.get("condition_id")  # none: the field has its error already
        condition = found[0] if found else None
    else:  # the model changed under the condition it has
        condition = await session.get(Condition, condition_id)
    if condition is None or condition.model == whole["model"]:
        return []
    message = (
        f"a condition of {whole['model']} (“{condition.name}” is a condition of {condition.model})"
    )
    return [FieldError("condition_id", message, "reference_error")]
