"""Users, roles, permissions, groups, sessions and the tables that link them."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, UTCDateTime
from app.models.base import OwnedMixin, TimestampMixin

ACTIONS = ("create", "read", "update", "delete")
SCOPES = ("all", "own", "group")

user_roles = Table(
    "user_roles",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True),
)

role_permissions = Table(
    "role_permissions",
    Base.metadata,
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "permission_id",
        ForeignKey("permissions.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

user_groups = Table(
    "user_groups",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(OwnedMixin, TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    sessions: Mapped[list["Session"]] = relationship(
        back_populates="user",
        cascade="all, delete",
        passive_deletes=True,
        foreign_keys="Session.user_id",
        lazy="raise_on_sql",
    )

    @property
    def role_ids(self) -> list[int]:
        return [role.id for role in self.roles]

    @property
    def group_ids(self) -> list[int]:
        return [group.id for group in self.groups]


class Role(OwnedMixin, TimestampMixin, Base):
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


class Permission(OwnedMixin, TimestampMixin, Base):
    __tablename__ = "permissions"
    __table_args__ = (
        UniqueConstraint("model", "action", "scope"),
        CheckConstraint(f"action IN {ACTIONS!r}", name="action"),
        CheckConstraint(f"scope IN {SCOPES!r}", name="scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)

    def __str__(self) -> str:
        return f"{self.model}:{self.action}:{self.scope}"


class Group(OwnedMixin, TimestampMixin, Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    members: Mapped[list[User]] = relationship(
        secondary=user_groups, lazy="raise_on_sql", order_by=User.id, back_populates="groups"
    )

    @property
    def member_ids(self) -> list[int]:
        return [member.id for member in self.members]


class Session(OwnedMixin, TimestampMixin, Base):
    """A login: the cookie holds a random token, the row only its keyed hash."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User] = relationship(
        back_populates="sessions", foreign_keys=[user_id], lazy="raise_on_sql"
    )


class CasbinRule(Base):
    """Casbin's policy lines, read by `sqlalchemy_adapter` and written by the policy sync."""

    __tablename__ = "casbin_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    ptype: Mapped[str] = mapped_column(String(255))
    v0: Mapped[str | None] = mapped_column(String(255))
    v1: Mapped[str | None] = mapped_column(String(255))
    v2: Mapped[str | None] = mapped_column(String(255))
    v3: Mapped[str | None] = mapped_column(String(255))
    v4: Mapped[str | None] = mapped_column(String(255))
    v5: Mapped[str | None] = mapped_column(String(255))

    def __str__(self) -> str:
        """Render the line as the adapter hands it to Casbin: `p, r:1, task, read, own`."""
        values = (self.v0, self.v1, self.v2, self.v3, self.v4, self.v5)
        return ", ".join([self.ptype, *(v for v in values if v is not None)])


class PolicyState(Base):
    """One row whose revision changes with every policy sync, so every process notices."""

    __tablename__ = "policy_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
