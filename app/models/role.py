"""Roles hold permissions; users hold roles."""

from typing import TYPE_CHECKING

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base
from app.models.base import OwnedMixin, TimestampMixin
from app.models.links import role_permissions

if TYPE_CHECKING:
    from app.models.permission import Permission


class Role(OwnedMixin, TimestampMixin, Base):
    """Named sets of permissions, given to users."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    permissions: Mapped[list["Permission"]] = relationship(
        secondary=role_permissions, lazy="raise_on_sql", order_by="Permission.id"
    )

    @property
    def permission_ids(self) -> list[int]:
        return [permission.id for permission in self.permissions]
