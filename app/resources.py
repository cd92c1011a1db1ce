"""The resource registry: one declaration per table, from which the routes are built."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from app import crud
from app.crud.base import CRUDBase
from app.schemas import business, group, permission, role, session, user


@dataclass(frozen=True)
class Resource:
    """Everything the generic routes need to know about one table."""

    path: str  # URL segment and table name: "time_entries"
    perm: str  # permission model: "time_entry"
    label: str
    crud: CRUDBase[Any]
    read_schema: type[BaseModel]
    create_schema: type[BaseModel] | None  # None: records are not created through the API
    update_schema: type[BaseModel] | None
    sort_columns: tuple[str, ...]
    search_columns: tuple[str, ...] = ()
    filter_columns: tuple[str, ...] = ()
    # input field -> resource path of the records it names (which the caller must see)
    references: dict[str, str] = field(default_factory=dict)
    # fields only a holder of `<perm>:<action>:all` may set (users: roles, groups, ...)
    privileged_fields: frozenset[str] = frozenset()
    # HTML: the field that names a record, the columns of its list, and the related
    # records its detail page shows as (child resource path, foreign key on the child)
    title_field: str = "name"
    list_columns: tuple[str, ...] = ()
    children: tuple[tuple[str, str], ...] = ()

    @property
    def model(self) -> Any:
        return self.crud.model

    @property
    def singular(self) -> str:
        return self.label.removesuffix("s") if self.path != "time_entries" else "Time entry"

    def title_of(self, record: Any) -> str:
        """Return a short human name for a record: its name, title or id."""
        value = getattr(record, self.title_field, None)
        text = str(value) if value not in (None, "") else f"#{record.id}"
        return text if len(text) <= 60 else text[:57] + "..."


OWNER_SORT = ("id", "owner_user_id", "owner_group_id", "created_at", "updated_at")

RESOURCES: tuple[Resource, ...] = (
    Resource(
        path="users",
        perm="user",
        label="Users",
        crud=crud.user,
        read_schema=user.UserRead,
        create_schema=user.UserCreate,
        update_schema=user.UserUpdate,
        sort_columns=(*OWNER_SORT, "username", "email", "full_name", "is_active", "last_login_at"),
        search_columns=("username", "email", "full_name"),
        filter_columns=("is_active",),
        references={"role_ids": "roles", "group_ids": "groups"},
        privileged_fields=frozenset(user.UserCreate.model_fields) - user.SELF_EDITABLE,
        title_field="username",
        list_columns=("username", "email", "full_name", "is_active", "last_login_at"),
    ),
    Resource(
        path="roles",
        perm="role",
        label="Roles",
        crud=crud.role,
        read_schema=role.RoleRead,
        create_schema=role.RoleCreate,
        update_schema=role.RoleUpdate,
        sort_columns=(*OWNER_SORT, "name"),
        search_columns=("name", "description"),
        references={"permission_ids": "permissions"},
        list_columns=("name", "description"),
    ),
    Resource(
        path="permissions",
        perm="permission",
        label="Permissions",
        crud=crud.permission,
        read_schema=permission.PermissionRead,
        create_schema=permission.PermissionCreate,
        update_schema=permission.PermissionUpdate,
        sort_columns=(*OWNER_SORT, "model", "action", "scope"),
        search_columns=("model", "action", "scope", "description"),
        filter_columns=("model", "action", "scope"),
        list_columns=("model", "action", "scope", "description"),
    ),
    Resource(
        path="sessions",
        perm="session",
        label="Sessions",
        crud=crud.session,
        read_schema=session.SessionRead,
        create_schema=None,
        update_schema=None,
        sort_columns=(*OWNER_SORT, "user_id", "expires_at", "last_seen_at"),
        search_columns=("ip_address", "user_agent"),
        filter_columns=("user_id",),
        title_field="id",
        list_columns=("user_id", "ip_address", "last_seen_at", "expires_at"),
    ),
    Resource(
        path="groups",
        perm="group",
        label="Groups",
        crud=crud.group,
        read_schema=group.GroupRead,
        create_schema=group.GroupCreate,
        update_schema=group.GroupUpdate,
        sort_columns=(*OWNER_SORT, "name"),
        search_columns=("name", "description"),
        references={"member_ids": "users"},
        list_columns=("name", "description"),
    ),
    Resource(
        path="customers",
        perm="customer",
        label="Customers",
        crud=crud.customer,
        read_schema=business.CustomerRead,
        create_schema=business.CustomerCreate,
        update_schema=business.CustomerUpdate,
        sort_columns=(*OWNER_SORT, "name", "email", "company", "is_active"),
        search_columns=("name", "email", "phone", "company", "notes"),
        filter_columns=("is_active",),
        list_columns=("name", "company", "email", "phone", "is_active"),
        children=(("projects", "customer_id"),),
    ),
    Resource(
        path="projects",
        perm="project",
        label="Projects",
        crud=crud.project,
        read_schema=business.ProjectRead,
        create_schema=business.ProjectCreate,
        update_schema=business.ProjectUpdate,
        sort_columns=(*OWNER_SORT, "name", "status", "budget", "start_date", "due_date"),
        search_columns=("name", "description"),
        filter_columns=("status", "customer_id", "is_billable"),
        references={"customer_id": "customers"},
        list_columns=("name", "status", "customer_id", "budget", "due_date"),
        children=(("tasks", "project_id"),),
    ),
    Resource(
        path="tasks",
        perm="task",
        label="Tasks",
        crud=crud.task,
        read_schema=business.TaskRead,
        create_schema=business.TaskCreate,
        update_schema=business.TaskUpdate,
        sort_columns=(*OWNER_SORT, "title", "status", "priority", "due_at", "project_id"),
        search_columns=("title", "description"),
        filter_columns=("status", "priority", "project_id", "assignee_id"),
        references={"project_id": "projects", "assignee_id": "users", "tag_ids": "tags"},
        title_field="title",
        list_columns=("title", "status", "priority", "project_id", "due_at"),
        children=(("comments", "task_id"), ("time_entries", "task_id")),
    ),
    Resource(
        path="tags",
        perm="tag",
        label="Tags",
        crud=crud.tag,
        read_schema=business.TagRead,
        create_schema=business.TagCreate,
        update_schema=business.TagUpdate,
        sort_columns=(*OWNER_SORT, "name", "color"),
        search_columns=("name",),
        list_columns=("name", "color"),
    ),
    Resource(
        path="comments",
        perm="comment",
        label="Comments",
        crud=crud.comment,
        read_schema=business.CommentRead,
        create_schema=business.CommentCreate,
        update_schema=business.CommentUpdate,
        sort_columns=(*OWNER_SORT, "task_id"),
        search_columns=("body",),
        filter_columns=("task_id",),
        references={"task_id": "tasks"},
        title_field="body",
        list_columns=("body", "task_id", "created_at"),
    ),
    Resource(
        path="time_entries",
        perm="time_entry",
        label="Time entries",
        crud=crud.time_entry,
        read_schema=business.TimeEntryRead,
        create_schema=business.TimeEntryCreate,
        update_schema=business.TimeEntryUpdate,
        sort_columns=(*OWNER_SORT, "spent_on", "minutes", "task_id", "user_id"),
        search_columns=("note",),
        filter_columns=("task_id", "user_id", "is_billable"),
        references={"task_id": "tasks", "user_id": "users"},
        title_field="spent_on",
        list_columns=("spent_on", "minutes", "task_id", "user_id", "is_billable"),
    ),
)

REGISTRY: dict[str, Resource] = {res.path: res for res in RESOURCES}
PERMISSION_MODELS: tuple[str, ...] = tuple(res.perm for res in RESOURCES)
