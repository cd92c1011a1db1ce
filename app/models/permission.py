"""Permissions: `<model>:<action>:<scope>` in three columns."""

import re

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.database import Base
from app.core.permissions import ACTIONS, SCOPES
from app.models.base import OwnedMixin, TimestampMixin, choices

# A permission's model is named like a table: Casbin's rule text has no room for more (a
# bracket or a comma in a stored rule stops the policy from loading at all).
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Permission(OwnedMixin, TimestampMixin, Base):
    """Every `model:action:scope` the policy knows, in three columns."""

    __tablename__ = "permissions"
    __table_args__ = (
        UniqueConstraint("model", "action", "scope"),
        choices("action", ACTIONS),
        choices("scope", SCOPES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)

    @property
    def name(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.model}:{self.action}:{self.scope}"
