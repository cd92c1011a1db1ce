"""Permissions: `<model>:<action>:<scope>` in three columns, and the condition it may carry."""

import re

from sqlalchemy import ForeignKey, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from app.core.database import Base
from app.core.permissions import ACTIONS, SCOPES, permission_name
from app.models.base import OwnedMixin, TimestampMixin, choices
from app.models.condition import Condition

# A permission's model is named like a table: Casbin's rule text has no room for more (a
# bracket or a comma in a stored rule stops the policy from loading at all).
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Permission(OwnedMixin, TimestampMixin, Base):
    """Every `model:action:scope` the policy knows, in three columns, each with or without a
    condition (`task:update:own[open]`); unique with its condition."""

    __tablename__ = "permissions"
    __table_args__ = (
        choices("action", ACTIONS),
        choices("scope", SCOPES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    # A condition of the same model; a condition in use cannot be deleted.
    condition_id: Mapped[int | None] = mapped_column(
        ForeignKey("conditions.id", ondelete="RESTRICT"), index=True
    )
    # The condition's name, read with the permission (never a lazy load in async code).
    condition: Mapped[str | None] = column_property(
        select(Condition.name)
        .where(Condition.id == condition_id)
        .correlate_except(Condition)
        .scalar_subquery()
    )

    @property
    def name(self) -> str:
        return str(self)

    def __str__(self) -> str:
        condition = self.condition if self.condition_id is not None else None
        return permission_name(self.model, self.action, self.scope, condition)


# Unique with its condition: COALESCE makes two permissions without one equal (NULLs are
# distinct in a unique index, on SQLite and PostgreSQL alike).
Index(
    "uq_permissions_model_action_scope_condition_id",
    Permission.model,
    Permission.action,
    Permission.scope,
    func.coalesce(Permission.condition_id, 0),
    unique=True,
)
