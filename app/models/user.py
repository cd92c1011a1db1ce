"""Users: a user row is owned by itself."""

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, UTCDateTime
from app.models.base import OwnedMixin, TimestampMixin
from app.models.links import user_groups, user_roles

if TYPE_CHECKING:
    from app.models.group import Group
    from app.models.role import Role
    from app.models.session import LoginSession


class User(OwnedMixin, TimestampMixin, Base):
    """People who sign in. A user row is owned by itself (`owner_user_id` = `id`)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The IANA zone the pages show this user's times in; NULL: their browser's.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Bearer tokens issued before this moment are refused: set when the user signs out
    # everywhere, changes password, or is deactivated (`app/core/tokens.py`).
    tokens_not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # users and groups reference each other; this key is added after both tables exist.
    owner_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="SET NULL", use_alter=True), index=True
    )

    roles: Mapped[list["Role"]] = relationship(
        secondary=user_roles, lazy="raise_on_sql", order_by="Role.id"
    )
    groups: Mapped[list["Group"]] = relationship(
        secondary=user_groups, lazy="raise_on_sql", order_by="Group.id", back_populates="members"
    )
    sessions: Mapped[list["LoginSession"]] = relationship(
        back_populates="user",
        cascade="all, delete",
        passive_deletes=True,
        foreign_keys="LoginSession.user_id",
        lazy="raise_on_sql",
    )

    @property
    def role_ids(self) -> list[int]:
        return [role.id for role in self.roles]

    @property
    def group_ids(self) -> list[int]:
        return [group.id for group in self.groups]


# Usernames are unique without regard to case: `DEMO` cannot sign up beside `demo`.
Index("uq_users_username_lower", func.lower(User.username), unique=True)
