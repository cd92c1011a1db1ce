"""Every mapped table, imported so that `Base.metadata` is complete."""

from app.models.business import (
    PROJECT_STATUSES,
    TASK_STATUSES,
    Comment,
    Customer,
    Project,
    Tag,
    Task,
    TimeEntry,
    task_tags,
)
from app.models.group import Group
from app.models.links import role_permissions, user_groups, user_roles
from app.models.permission import ACTIONS, SCOPES, Permission
from app.models.policy import CasbinRule, PolicyState
from app.models.role import Role
from app.models.session import Session
from app.models.user import User

__all__ = [
    "ACTIONS",
    "PROJECT_STATUSES",
    "SCOPES",
    "TASK_STATUSES",
    "CasbinRule",
    "Comment",
    "Customer",
    "Group",
    "Permission",
    "PolicyState",
    "Project",
    "Role",
    "Session",
    "Tag",
    "Task",
    "TimeEntry",
    "User",
    "role_permissions",
    "task_tags",
    "user_groups",
    "user_roles",
]
