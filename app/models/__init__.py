"""Every mapped table, imported so that `Base.metadata` is complete.

Each module of this package is imported here, so a new model module needs no entry: import
its classes from their own module (`from app.models.invoice import Invoice`). The names
below are the ones the rest of the app imports from the package.
"""

import importlib
import pkgutil

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
from app.models.condition import Condition
from app.models.group import Group
from app.models.links import role_permissions, user_groups, user_roles
from app.models.permission import ACTIONS, SCOPES, Permission
from app.models.policy import CasbinRule, PolicyChange, PolicyState
from app.models.role import Role
from app.models.session import LoginSession
from app.models.user import User

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "ACTIONS",
    "PROJECT_STATUSES",
    "SCOPES",
    "TASK_STATUSES",
    "CasbinRule",
    "Comment",
    "Condition",
    "Customer",
    "Group",
    "LoginSession",
    "Permission",
    "PolicyChange",
    "PolicyState",
    "Project",
    "Role",
    "Tag",
    "Task",
    "TimeEntry",
    "User",
    "role_permissions",
    "task_tags",
    "user_groups",
    "user_roles",
]
