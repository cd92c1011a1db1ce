"""The resource registry: one declaration per table, from which routes, pages and docs are built.

A new business table needs one entry here (its model; its schemas and everything else have
defaults derived from it), after its model and migration exist.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from app import crud
from app.core.conditions.checker import install_catalog
from app.core.errors import FieldError
from app.core.permissions import EXTRA, GROUP_WORK, OWNED, permission_name, snake_case
from app.crud.base import CRUDBase
from app.crud.role import Holder
from app.hooks import accounts, conditions, grants
from app.models import (
    Comment,
    Condition,
    Customer,
    Group,
    LoginSession,
    Permission,
    Project,
    Role,
    Tag,
    Task,
    TimeEntry,
    User,
)
from app.models.base import follow_indexes
from app.schemas import group, permission, role, session, user
from app.schemas.common import partial
from app.schemas.derived import create_schema, read_schema

OWNER_FIELDS = ("owner_user_id", "owner_group_id")
OWNER_SORT = ("id", *OWNER_FIELDS, "created_at", "updated_at")
DERIVED: Any = object()  # a field left to __post_init__ to derive (None means "none")


@dataclass(frozen=True)
class Resource:
    """Everything the generic routes, pages and docs need to know about one table.

    Only `path` and `model` are required; the rest is derived from them.
    """

    path: str  # URL segment and table name: "time_entries"
    model: type[Any]
    # The API's schemas: by default derived from the model (`app/schemas/derived.py`); a
    # table whose API differs from its columns (a user's password) declares its own.
    read_schema: type[BaseModel] = DERIVED
    create_schema: type[BaseModel] | None = DERIVED  # None: not created through the API
    update_schema: type[BaseModel] | None = DERIVED  # default: create_schema, every field optional
    sort_columns: tuple[str, ...] = ()  # default: the owner columns and the list columns
    search_columns: tuple[str, ...] = ()
    filter_columns: tuple[str, ...] = ()  # equality filters: `status=done`
    # Filters by a linked record (`tag_id=3`: the tasks carrying tag 3): each many-to-many
    # field the read schema shows, as `<x>_id`, with its `<x>_ids` field; derived.
    link_filters: dict[str, str] = DERIVED
    # Columns filtered by a range of days (`due_at_from=`, `due_at_to=`, both included):
    # default, every date and time the read schema shows but `updated_at`.
    range_columns: tuple[str, ...] = DERIVED
    # input field -> resource path of the records it names (which the caller must see);
    # default: the create schema's foreign keys and `<x>_ids` relations, owners aside
    references: dict[str, str] = DERIVED
    # fields only a holder of `<policy_model>:<action>:all` may set (users: roles, groups, ...)
    privileged_fields: frozenset[str] = frozenset()
    # HTML: the field that names a record, the columns of its list, and the related
    # records its detail page shows as (child resource path, foreign key on the child)
    title_field: str = "name"
    title_fields: tuple[str, ...] = DERIVED  # what the title is made of; default: title_field
    titled: Callable[..., str] | None = None  # the title of those values; default: joined by ":"
    list_columns: tuple[str, ...] = ()
    children: tuple[tuple[str, str], ...] = ()  # derived from the children's `listed_on`
    # The parents (resource paths) whose page lists this table's records, by the field of
    # this table that names the parent: a project is listed on its customer's page.
    listed_on: tuple[str, ...] = ()
    policy_model: str = DERIVED  # the `<model>` of `<model>:<action>:<scope>`: "time_entry"
    label: str = DERIVED  # "Time entries"
    singular: str = DERIVED  # "Time entry"
    crud: CRUDBase[Any] = DERIVED  # default: CRUDBase(model)
    # Reads (lists, a record by id) as plain rows rather than ORM objects: derived as true
    # when the read schema shows related records only by id (`tag_ids`), which a row carries
    plain_reads: bool = DERIVED
    # The users a change of one record can give or take permissions from, each with what
    # their roles give them (`holders(session=..., record=...)`). Set, an update can be
    # tried first (`?dry_run=1`, `app/services/what_if.py`): who would gain and lose what.
    holders: Callable[..., Awaitable[dict[int, Holder]]] | None = None
    # What the seeded roles other than admin hold of it: role -> `action:scope` items, given
    # when the database is made and, for a table added later, when its permissions are.
    default_grants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Fields whose change can leave nobody able to manage users and roles (a delete
    # always can): such a write is refused (409) when it would (`app/services/accounts.py`).
    managing_fields: frozenset[str] = frozenset()
    # What a write of one of its records gives people: reported to the delegation check,
    # which refuses what the editor does not hold (`app/hooks/grants.py`).
    grants: Callable[..., Awaitable[None]] | None = None
    # Its own checks of a record as a write would leave it, 422 (`app/hooks/conditions.py`).
    validate: Callable[..., Awaitable[list[FieldError]]] | None = None
    # Around an update: a check before it (a user's own new password needs the current
    # one) and what it sets off after (a new password ends sessions): `app/hooks/accounts.py`.
    before_update: Callable[..., Awaitable[None]] | None = None
    after_update: Callable[..., Awaitable[None]] | None = None
    # The field by which one's own record confirms a new secret (`current_password`):
    # asked on one's own edit form; its wrong guesses are throttled (429).
    confirms_secret: str | None = None
    # Whether its sort and search columns get the indexes they need, where the model has
    # none (`app/models/base.py: follow_indexes`); the small account tables scan instead.
    indexed: bool = True
    # A record that owns itself (a user: its `owner_user_id` is its own id): a create
    # leaves its owners as sent, and a new one is nobody's until it exists.
    owns_itself: bool = False
    # The records that link to this one through a many-to-many field of theirs, listed and
    # managed on its page: (their resource path, their `<x>_ids` field), e.g. a role's users.
    members: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        name = snake_case(self.model.__name__)
        if self.read_schema is DERIVED:
            object.__setattr__(self, "read_schema", read_schema(self.model))
        if self.create_schema is DERIVED:
            object.__setattr__(self, "create_schema", create_schema(self.model))
        defaults = {
            "policy_model": name,
            "label": self.path.replace("_", " ").capitalize(),
            "singular": name.replace("_", " ").capitalize(),
            "crud": CRUDBase(self.model),
            "update_schema": self.create_schema
            and partial(self.create_schema, f"{self.model.__name__}Update"),
            "title_fields": (self.title_field,),
        }
        for key, value in defaults.items():
            if getattr(self, key) is DERIVED:
                object.__setattr__(self, key, value)
        if self.references is DERIVED:
            object.__setattr__(self, "references", self._derived_references())
        if self.plain_reads is DERIVED:
            shown = self.read_schema.model_fields
            plain = not any(name in shown for name, _ in self.crud.relations.values())
            object.__setattr__(self, "plain_reads", plain)
        owners = [
            name
            for name in OWNER_FIELDS
            if name in self.model.__table__.columns and name in self.read_schema.model_fields
        ]
        if owners:  # every owned table's list filters by owner and group, by name
            filters = (*self.filter_columns, *(o for o in owners if o not in self.filter_columns))
            object.__setattr__(self, "filter_columns", filters)
        if self.link_filters is DERIVED:
            shown = self.read_schema.model_fields
            links = {f"{name.removesuffix('_ids')}_id": name for name in self.crud.relations}
            links = {param: name for param, name in links.items() if name in shown}
            object.__setattr__(self, "link_filters", links)
        if self.range_columns is DERIVED:
            dated = [
                column.name
                for column in self.model.__table__.columns
                if column.name in self.read_schema.model_fields
                and column.name != "updated_at"
                and self.crud.is_dated(column.name)
            ]
            object.__setattr__(self, "range_columns", tuple(dated))
        if not self.sort_columns:
            object.__setattr__(self, "sort_columns", (*OWNER_SORT, *self.list_columns))
        if self.indexed:
            follow_indexes(self.model.__table__, self.sort_columns, self.search_columns)

    def _derived_references(self) -> dict[str, str]:
        if self.create_schema is None:
            return {}
        found: dict[str, str] = {}
        columns = self.model.__table__.columns
        for name in self.create_schema.model_fields:
            if name in self.crud.relations:
                found[name] = self.crud.relations[name][1].__tablename__
            elif name in columns and name not in OWNER_FIELDS:
                keys = list(columns[name].foreign_keys)
                if keys:
                    found[name] = keys[0].column.table.name
        return found

    @property
    def choice_filters(self) -> tuple[str, ...]:
        """The list filters offered as a choice (a value, a named record), in page order."""
        return (*self.filter_columns, *self.link_filters)

    def title_of(self, record: Any) -> str:
        """Return a short human name for a record: its `title_fields` joined by ":" (a
        name, a title) or as `titled` makes them (`task:update:own[open]`), else its id."""
        return self.title_from(
            record.id, [getattr(record, name, None) for name in self.title_fields]
        )

    def title_from(self, record_id: int, values: Sequence[Any]) -> str:
        """Return the title of the record `record_id` whose title fields hold `values`."""
        shown = [str(value) for value in values if value not in (None, "")]
        text = (self.titled(*values) if self.titled else ":".join(shown)) or f"#{record_id}"
        return text if len(text) <= 60 else text[:57] + "..."


RESOURCES: tuple[Resource, ...] = (
    Resource(
        path="users",
        indexed=False,
        model=User,
        crud=crud.user,
        read_schema=user.UserRead,
        create_schema=user.UserCreate,
        update_schema=user.UserUpdate,
        sort_columns=(*OWNER_SORT, "username", "email", "full_name", "is_active", "last_login_at"),
        search_columns=("username", "email", "full_name"),
        filter_columns=("is_active",),
        privileged_fields=frozenset(user.UserCreate.model_fields) - user.SELF_EDITABLE,
        title_field="username",
        owns_itself=True,
        default_grants={"user": ("read:own", "update:own")},
        managing_fields=frozenset({"role_ids", "is_active"}),
        grants=grants.user_grants,
        before_update=accounts.check_current_password,
        after_update=accounts.after_user_update,
        confirms_secret="current_password",
        list_columns=("username", "email", "full_name", "is_active", "last_login_at"),
    ),
    Resource(
        path="roles",
        indexed=False,
        model=Role,
        crud=crud.role,
        read_schema=role.RoleRead,
        create_schema=role.RoleCreate,
        update_schema=role.RoleUpdate,
        sort_columns=(*OWNER_SORT, "name"),
        search_columns=("name", "description"),
        list_columns=("name", "description"),
        holders=crud.role.holders,
        members=("users", "role_ids"),
        managing_fields=frozenset({"permission_ids"}),
        grants=grants.role_grants,
    ),
    Resource(
        path="permissions",
        indexed=False,
        model=Permission,
        crud=crud.permission,
        read_schema=permission.PermissionRead,
        create_schema=permission.PermissionCreate,
        update_schema=permission.PermissionUpdate,
        sort_columns=(*OWNER_SORT, "model", "action", "scope"),
        search_columns=("model", "action", "scope", "description"),
        filter_columns=("model", "action", "scope", "condition_id"),
        title_fields=("model", "action", "scope", "condition"),
        titled=permission_name,
        list_columns=("model", "action", "scope", "condition_id", "description"),
        managing_fields=frozenset({"model", "action", "scope", "condition_id"}),
        grants=grants.permission_grants,
        validate=conditions.permission_errors,
    ),
    Resource(
        path="conditions",
        indexed=False,
        model=Condition,
        search_columns=("name", "model", "expression", "description"),
        filter_columns=("model",),
        title_fields=("model", "name"),
        list_columns=("model", "name", "expression", "description"),
        validate=conditions.condition_errors,
    ),
    Resource(
        path="sessions",
        indexed=False,
        model=LoginSession,
        policy_model="session",
        singular="Session",
        crud=crud.login_session,
        read_schema=session.SessionRead,
        create_schema=None,
        update_schema=None,
        sort_columns=(*OWNER_SORT, "user_id", "expires_at", "last_seen_at"),
        search_columns=("ip_address", "user_agent"),
        filter_columns=("user_id",),
        title_field="id",
        list_columns=("user_id", "ip_address", "last_seen_at", "expires_at"),
        default_grants={"user": ("read:own", "delete:own")},
    ),
    Resource(
        path="groups",
        indexed=False,
        model=Group,
        read_schema=group.GroupRead,
        create_schema=group.GroupCreate,
        update_schema=group.GroupUpdate,
        sort_columns=(*OWNER_SORT, "name"),
        search_columns=("name", "description"),
        list_columns=("name", "description"),
        grants=grants.group_grants,
    ),
    Resource(
        path="customers",
        model=Customer,
        sort_columns=(*OWNER_SORT, "name", "email", "company", "is_active"),
        search_columns=("name", "email", "phone", "company", "notes"),
        filter_columns=("is_active",),
        list_columns=("name", "company", "email", "phone", "is_active"),
        default_grants=OWNED,
    ),
    Resource(
        path="projects",
        model=Project,
        sort_columns=(*OWNER_SORT, "name", "status", "budget", "start_date", "due_date"),
        search_columns=("name", "description"),
        filter_columns=("status", "customer_id", "is_billable"),
        list_columns=("name", "status", "customer_id", "budget", "due_date"),
        listed_on=("customers",),
        default_grants=OWNED,
    ),
    Resource(
        path="tasks",
        model=Task,
        sort_columns=(*OWNER_SORT, "title", "status", "priority", "due_at", "project_id"),
        search_columns=("title", "description"),
        filter_columns=("status", "priority", "project_id", "assignee_id"),
        title_field="title",
        list_columns=(
            "title",
            "status",
            "priority",
            "project_id",
            "assignee_id",
            "tag_ids",
            "due_at",
        ),
        listed_on=("projects",),
        default_grants=OWNED,
    ),
    Resource(
        path="tags",
        model=Tag,
        search_columns=("name",),
        list_columns=("name", "color"),
        default_grants={
            "user": ("read:all", "create:own", "update:own", "delete:own"),
            "manager": GROUP_WORK,
        },
    ),
    Resource(
        path="comments",
        model=Comment,
        sort_columns=(*OWNER_SORT, "task_id"),
        search_columns=("body",),
        filter_columns=("task_id",),
        title_field="body",
        list_columns=("body", "task_id", "created_at"),
        listed_on=("tasks",),
        default_grants=OWNED,
    ),
    Resource(
        path="time_entries",
        model=TimeEntry,
        sort_columns=(*OWNER_SORT, "spent_on", "minutes", "task_id", "user_id"),
        search_columns=("note",),
        filter_columns=("task_id", "user_id", "is_billable"),
        title_field="spent_on",
        list_columns=("spent_on", "minutes", "task_id", "user_id", "is_billable"),
        listed_on=("tasks",),
        default_grants=OWNED,
    ),
)

REGISTRY: dict[str, Resource] = {res.path: res for res in RESOURCES}


def _list_children() -> None:
    """List each table's records on the page of every parent its entry names (`listed_on`)."""
    for res in RESOURCES:
        for parent in res.listed_on:
            field = next(name for name, path in res.references.items() if path == parent)
            shown = REGISTRY[parent]
            object.__setattr__(shown, "children", (*shown.children, (res.path, field)))


_list_children()
PERMISSION_MODELS: tuple[str, ...] = tuple(res.policy_model for res in RESOURCES)
# Permissions beside the registered models' grid: reading the audit log, scraping metrics.
EXTRA_PERMISSIONS: tuple[str, ...] = EXTRA
# Conditions read of each model the columns its API shows (never a secret).
install_catalog({r.policy_model: (r.model, set(r.read_schema.model_fields)) for r in RESOURCES})
