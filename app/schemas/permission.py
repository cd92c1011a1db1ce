"""Permission schemas: `<model>:<action>:<scope>` in three parts, and the condition it may
carry (by id in, by id and name out: `task:update:own[open]`)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, computed_field

from app.core.permissions import ACTIONS, SCOPES, permission_name
from app.models.permission import MODEL_NAME
from app.schemas.common import Id, OwnerFields, ReadSchema, Text, partial

Action = Literal[ACTIONS]  # type: ignore[valid-type]
Scope = Literal[SCOPES]  # type: ignore[valid-type]


MODEL_WORDS = "lowercase letters, digits and underscores, starting with a letter"


def model_name(value: str) -> str:
    """A model is named like a table (`MODEL_NAME`)."""
    if not MODEL_NAME.fullmatch(value):
        raise ValueError(MODEL_WORDS)
    return value


ModelName = Annotated[
    Text(50, min_length=1), AfterValidator(model_name), Field(description=MODEL_WORDS)
]


class PermissionCreate(OwnerFields):
    model: ModelName
    action: Action
    scope: Scope
    description: Text(2000) | None = None
    condition_id: Id | None = Field(
        default=None, description="A condition of the same model (null: none)."
    )


PermissionUpdate = partial(PermissionCreate, "PermissionUpdate")


class PermissionRead(ReadSchema):
    model: str
    action: Action
    scope: Scope
    description: str | None
    condition_id: int | None
    condition: str | None = Field(description="The condition's name (null: none).")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        return permission_name(self.model, self.action, self.scope, self.condition)
