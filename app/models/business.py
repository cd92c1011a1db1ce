"""The business tables of `migrations/reference/business.sql`, column for column."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.database import Base, UTCDateTime
from app.models.base import (
    OwnedMixin,
    TimestampMixin,
    bounded,
    choices,
    ordered,
    search_index,
    sort_indexes,
)

PROJECT_STATUSES = ("planned", "active", "on_hold", "completed", "cancelled")
TASK_STATUSES = ("todo", "in_progress", "blocked", "done")

task_tags = Table(
    "task_tags",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_task_tags_tag_id", "tag_id"),
    info={
        "doc": "Business: the many-to-many link of tasks and tags, edited as a task's `tag_ids`."
    },
)


class Customer(OwnedMixin, TimestampMixin, Base):
    """Business: the organisations work is done for."""

    __tablename__ = "customers"
    __table_args__ = (
        *sort_indexes("customers", "created_at", "updated_at", "email", "company", "is_active"),
        search_index("customers", "name", "email", "phone", "company", "notes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    email: Mapped[str | None] = mapped_column(String(320), info={"format": "email"})
    phone: Mapped[str | None] = mapped_column(String(50))
    company: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=true())


class Project(OwnedMixin, TimestampMixin, Base):
    """Business: a customer's projects (customer optional)."""

    __tablename__ = "projects"
    __table_args__ = (
        choices("status", PROJECT_STATUSES),
        bounded("budget", ge=0, name="budget_non_negative"),
        ordered(
            "due_date", "start_date", name="dates", words="a due date on or after the start date"
        ),
        *sort_indexes(
            "projects",
            "created_at",
            "updated_at",
            "name",
            "status",
            "budget",
            "start_date",
            "due_date",
        ),
        search_index("projects", "name", "description"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), default="planned", server_default=text("'planned'")
    )
    budget: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    is_billable: Mapped[bool] = mapped_column(default=True, server_default=true())
    start_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)


class Task(OwnedMixin, TimestampMixin, Base):
    """Business: the work items of a project, with status, priority and assignee."""

    __tablename__ = "tasks"
    __table_args__ = (
        choices("status", TASK_STATUSES),
        bounded("priority", ge=1, le=5, name="priority"),
        bounded("estimate_hours", ge=0, name="estimate_non_negative"),
        *sort_indexes("tasks", "created_at", "updated_at", "title", "status", "priority", "due_at"),
        search_index("tasks", "title", "description"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), default="todo", server_default=text("'todo'"), index=True
    )
    priority: Mapped[int] = mapped_column(SmallInteger, default=3, server_default=text("3"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    estimate_hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tags: Mapped[list["Tag"]] = relationship(
        secondary=task_tags, lazy="raise_on_sql", order_by="Tag.id"
    )

    @property
    def tag_ids(self) -> list[int]:
        return [tag.id for tag in self.tags]


class Tag(OwnedMixin, TimestampMixin, Base):
    """Business: labels for tasks (names unique)."""

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("name"),
        *sort_indexes("tags", "created_at", "updated_at", "color"),
        search_index("tags", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    color: Mapped[str] = mapped_column(
        String(7),
        default="#6b7280",
        server_default=text("'#6b7280'"),
        info={"pattern": (r"^#[0-9A-Fa-f]{6}$", "a colour like #1a2b3c", "#1a2b3c")},
    )


class Comment(OwnedMixin, TimestampMixin, Base):
    """Business: discussion on a task."""

    __tablename__ = "comments"
    __table_args__ = (
        *sort_indexes("comments", "created_at", "updated_at"),
        search_index("comments", "body"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)


class TimeEntry(OwnedMixin, TimestampMixin, Base):
    """Business: minutes spent on a task on a day."""

    __tablename__ = "time_entries"
    __table_args__ = (
        bounded("minutes", gt=0, le=1440, name="minutes"),
        *sort_indexes("time_entries", "created_at", "updated_at", "minutes"),
        search_index("time_entries", "note"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    spent_on: Mapped[date] = mapped_column(Date, index=True)
    minutes: Mapped[int] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(500))
    is_billable: Mapped[bool] = mapped_column(default=True, server_default=true())
