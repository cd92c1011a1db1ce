"""One CRUD object per table; all but users, sessions and permissions are the generic base."""

from app.crud.base import CRUDBase
from app.crud.permission import permission
from app.crud.session import session
from app.crud.user import user
from app.models import (
    Comment,
    Customer,
    Group,
    Permission,
    Project,
    Role,
    Tag,
    Task,
    TimeEntry,
    User,
)

role = CRUDBase(Role, relations={"permission_ids": ("permissions", Permission)})
group = CRUDBase(Group, relations={"member_ids": ("members", User)})
customer = CRUDBase(Customer)
project = CRUDBase(Project)
task = CRUDBase(Task, relations={"tag_ids": ("tags", Tag)})
tag = CRUDBase(Tag)
comment = CRUDBase(Comment)
time_entry = CRUDBase(TimeEntry)

__all__ = [
    "comment",
    "customer",
    "group",
    "permission",
    "project",
    "role",
    "session",
    "tag",
    "task",
    "time_entry",
    "user",
]
