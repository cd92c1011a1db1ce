"""Groups: the `group` scope covers records owned by a group the user is in."""

from typing import TYPE_CHECKING

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base
from app.models.base import OwnedMixin, TimestampMixin
from app.models.links import user_groups

if TYPE_CHECKING:
    from app.models.user import User


class Group(OwnedMixin, TimestampMixin, Base):
    """Teams. Records owned by a group are what the `group` scope reaches."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    members: Mapped[list["User"]] = relationship(
        secondary=user_groups, lazy="raise_on_sql", order_by="User.id", back_populates="groups"
    )

    @property
    def member_ids(self) -> list[int]:
        return [member.id for member in self.members]
