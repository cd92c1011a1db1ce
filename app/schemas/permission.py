"""Permission schemas: `<model>:<action>:<scope>` in three parts."""

from typing import Literal

from pydantic import computed_field

from app.models.permission import ACTIONS, SCOPES
from app.schemas.common import OwnerFields, ReadSchema, Text, partial

Action = Literal[ACTIONS]  # type: ignore[valid-type]
Scope = Literal[SCOPES]  # type: ignore[valid-type]


class PermissionCreate(OwnerFields):
    model: Text(50, min_length=1)
    action: Action
    scope: Scope
    description: Text(2000) | None = None


PermissionUpdate = partial(PermissionCreate, "PermissionUpdate")


class PermissionRead(ReadSchema):
    model: str
    action: Action
    scope: Scope
    description: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        return f"{self.model}:{self.action}:{self.scope}"
