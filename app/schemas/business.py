"""Schemas of the business tables, with the limits of `business.sql`."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import EmailStr, Field

from app.core.messages import pattern
from app.models.business import PROJECT_STATUSES, TASK_STATUSES
from app.schemas.common import (
    Bool,
    Date,
    Id,
    Name,
    OwnerFields,
    ReadSchema,
    Rule,
    Text,
    Timestamp,
    UTCTimestamp,
    partial,
)

# The choices are written once, with the model (which checks them in the database too).
ProjectStatus = Literal[PROJECT_STATUSES]  # type: ignore[valid-type]
TaskStatus = Literal[TASK_STATUSES]  # type: ignore[valid-type]
Color = Annotated[Text(7), pattern(r"^#[0-9A-Fa-f]{6}$", "a colour like #1a2b3c")]
LongText = Text(100_000)


class CustomerCreate(OwnerFields):
    name: Name
    email: EmailStr | None = Field(default=None, max_length=320)
    phone: Text(50) | None = None
    company: Text(200) | None = None
    notes: LongText | None = None
    is_active: Bool = True


CustomerUpdate = partial(CustomerCreate, "CustomerUpdate")


class CustomerRead(ReadSchema):
    name: str
    email: str | None
    phone: str | None
    company: str | None
    notes: str | None
    is_active: bool


class ProjectCreate(OwnerFields):
    customer_id: Id | None = None
    name: Name
    description: LongText | None = None
    status: ProjectStatus = "planned"
    budget: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    is_billable: Bool = True
    start_date: Date | None = None
    due_date: Date | None = None

    rules = (
        Rule(
            ("due_date", "start_date"),
            "a due date on or after the start date",
            lambda r: not (r["start_date"] and r["due_date"]) or r["due_date"] >= r["start_date"],
        ),
    )


ProjectUpdate = partial(ProjectCreate, "ProjectUpdate")


class ProjectRead(ReadSchema):
    customer_id: int | None
    name: str
    description: str | None
    status: ProjectStatus
    budget: Decimal | None
    is_billable: bool
    start_date: date | None
    due_date: date | None


class TaskCreate(OwnerFields):
    project_id: Id
    title: Name
    description: LongText | None = None
    status: TaskStatus = "todo"
    priority: int = Field(default=3, ge=1, le=5)
    assignee_id: Id | None = None
    due_at: UTCTimestamp | None = None
    estimate_hours: Decimal | None = Field(default=None, ge=0, max_digits=6, decimal_places=2)
    completed_at: UTCTimestamp | None = None
    tag_ids: list[Id] = Field(default_factory=list, max_length=200)


TaskUpdate = partial(TaskCreate, "TaskUpdate")


class TaskRead(ReadSchema):
    project_id: int
    title: str
    description: str | None
    status: TaskStatus
    priority: int
    assignee_id: int | None
    due_at: Timestamp | None
    estimate_hours: Decimal | None
    completed_at: Timestamp | None
    tag_ids: list[int]


class TagCreate(OwnerFields):
    name: Text(50, min_length=1)
    color: Color = "#6b7280"


TagUpdate = partial(TagCreate, "TagUpdate")


class TagRead(ReadSchema):
    name: str
    color: str


class CommentCreate(OwnerFields):
    task_id: Id
    body: Annotated[LongText, Field(min_length=1)]


CommentUpdate = partial(CommentCreate, "CommentUpdate")


class CommentRead(ReadSchema):
    task_id: int
    body: str


class TimeEntryCreate(OwnerFields):
    task_id: Id
    user_id: Id | None = None
    spent_on: Date
    minutes: int = Field(ge=1, le=1440)
    note: Text(500) | None = None
    is_billable: Bool = True


TimeEntryUpdate = partial(TimeEntryCreate, "TimeEntryUpdate")


class TimeEntryRead(ReadSchema):
    task_id: int
    user_id: int | None
    spent_on: date
    minutes: int
    note: str | None
    is_billable: bool
