"""A small sample company for `python -m app.init_db --demo-data` (`make demo`).

Brightline, a web agency: customers, their projects, and tasks with tags, comments and
time entries, worked on by two teams. `demo` and `maria` (a manager) and `oscar` are
`demo-team`; `priya`, `tomas` and `carla` are `platform-team`; `admin` is in neither and
owns a few records of each team and some of no team. So each sign-in sees a different part:
admin all of it, demo their own records and demo-team's, never platform-team's. carla, a
contractor, holds conditions rather than scopes: the tasks assigned to her in active projects,
which she may update while they are not done.

Everything is written out here (dates are days from today), so every load is the same.
Records are made as the API makes them, validated by their create schemas and created
through the registry's crud objects, so the audit log has them too (by "init_db --demo-data").
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Table, literal, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.database import utcnow
from app.core.permissions import parse_permission
from app.core.security import passwords_for
from app.crud import audit
from app.demo_company import (
    CLIENTS,
    COMMENTS,
    CONDITIONS,
    CONTRACTOR,
    CUSTOMERS,
    DESCRIPTIONS,
    GROUPS,
    MINUTES,
    NOTES,
    PEOPLE,
    PROJECTS,
    TAGS,
    TASKS,
    WORKED,
    Todo,
    Work,
)
from app.models import Group, Role, User
from app.resources import REGISTRY, RESOURCES

# The accounts' tables; every other registered table (and its link tables) is business.
SYSTEM = frozenset({"users", "roles", "permissions", "sessions", "groups"})
PASSWORD = "company123"  # every sample colleague's (admin and demo keep their own)
ACTOR = audit.Actor(None, "init_db --demo-data")
# What the sample builds on, as `init_db` seeds it.
NEEDS = {"user": ("admin", "demo"), "role": ("user", "manager"), "group": ("demo-team",)}


class Refused(Exception):
    """The database is not one the demo data may go into; nothing was written."""


def business_tables() -> list[Table]:
    """Return the business tables: every registered table but the accounts', and its links."""
    tables = []
    for res in RESOURCES:
        if res.path not in SYSTEM:
            tables.append(res.model.__table__)
            tables += [
                rel.secondary
                for rel in sa_inspect(res.model).relationships
                if rel.secondary is not None
            ]
    return tables


def refuse_records(connection: Connection) -> None:
    """Refuse a database whose business tables hold a record (tables not made yet hold none)."""
    present = set(sa_inspect(connection).get_table_names())
    used = [
        table.name
        for table in business_tables()
        if table.name in present
        and connection.execute(select(literal(1)).select_from(table).limit(1)).first()
    ]
    if used:
        raise Refused(
            f"the database already has business records (in {', '.join(used)}); "
            "demo data goes only into a database without any"
        )


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    """Add the sample company; return what was made.

    Raise `Refused`, having written nothing, when a business table holds a record, when a
    user or group the sample adds exists already, or when one it builds on (`NEEDS`) does
    not. The caller syncs the policy afterwards (the sample adds users to groups).
    """
    connection = await session.connection()
    await connection.run_sync(refuse_records)
    users, roles, groups = await _existing(session)
    session.info[audit.ACTOR] = ACTOR
    try:
        made = await _accounts(session, settings, users, roles, groups)
        return made + await _company(session, users, groups, utcnow().date())
    finally:
        del session.info[audit.ACTOR]


async def _existing(
    session: AsyncSession,
) -> tuple[dict[str, User], dict[str, Role], dict[str, Group]]:
    """Return the users, roles and groups by name; refuse a clash with the ones the sample
    adds, and the lack of one it builds on."""
    users = {u.username.lower(): u for u in await session.scalars(select(User))}
    emails = {u.email.lower() for u in users.values()}
    roles = {r.name: r for r in await session.scalars(select(Role))}
    groups = {g.name: g for g in await session.scalars(select(Group))}
    taken = [f"user {p.username}" for p in PEOPLE if p.username in users or p.email in emails]
    taken += [f"group {name}" for name in GROUPS if name in groups]
    taken += ["role contractor"] if "contractor" in roles else []
    if taken:
        raise Refused(f"the demo data adds {', '.join(taken)}, which this database already has")
    have: dict[str, dict[str, Any]] = {"user": users, "role": roles, "group": groups}
    missing = [
        f"{kind} {name}"
        for kind, names in NEEDS.items()
        for name in names
        if name not in have[kind]
    ]
    if missing:
        raise Refused(f"the demo data builds on {', '.join(missing)}, which this database lacks")
    return users, roles, groups


async def _accounts(
    session: AsyncSession,
    settings: Settings,
    users: dict[str, User],
    roles: dict[str, Role],
    groups: dict[str, Group],
) -> list[str]:
    """Add the sample's groups and users (to `groups` and `users` too)."""
    made = await _contractor(session, roles)
    for name, description in GROUPS.items():
        groups[name] = await _create(session, "groups", name=name, description=description)
        made.append(f"group {name}")
    passwords = passwords_for(settings)
    for person in PEOPLE:
        values = _valid(
            "users",
            username=person.username,
            email=person.email,
            password=PASSWORD,
            full_name=person.full_name,
            role_ids=[roles[name].id for name in person.roles],
            group_ids=[groups[person.group].id],
        )
        values["hashed_password"] = await passwords.hash(values.pop("password"))
        users[person.username] = await REGISTRY["users"].crud.create(session=session, values=values)
        made.append(f"user {person.username}")
    return made


async def _contractor(session: AsyncSession, roles: dict[str, Role]) -> list[str]:
    """Add the contractor role (to `roles` too), its conditions and conditioned permissions."""
    conditions = {}
    for name, (model, expression, description) in CONDITIONS.items():
        conditions[name] = await _create(
            session,
            "conditions",
            name=name,
            model=model,
            expression=expression,
            description=description,
        )
    permission_ids = []
    for grant in CONTRACTOR:
        model, action, scope, condition = parse_permission(grant)
        assert condition is not None
        permission = await _create(
            session,
            "permissions",
            model=model,
            action=action,
            scope=scope,
            condition_id=conditions[condition].id,
        )
        permission_ids.append(permission.id)
    roles["contractor"] = await _create(
        session,
        "roles",
        name="contractor",
        description="Outside help: the tasks assigned to them, while not done",
        permission_ids=permission_ids,
    )
    return [f"condition {name}" for name in CONDITIONS] + ["role contractor"]


async def _company(
    session: AsyncSession, users: dict[str, User], groups: dict[str, Group], today: date
) -> list[str]:
    """Add the business records."""

    def owned(owner: str, group: str | None) -> dict[str, int | None]:
        return {
            "owner_user_id": users[owner].id,
            "owner_group_id": groups[group].id if group else None,
        }

    def day(days: int) -> date:
        return today + timedelta(days=days)

    tags: dict[str, Any] = {}
    customers: dict[str, Any] = {}
    projects: dict[str, Any] = {}
    for name, (color, owner, group) in TAGS.items():
        tags[name] = await _create(session, "tags", name=name, color=color, **owned(owner, group))
    for c in CUSTOMERS:
        customers[c.name] = await _create(
            session,
            "customers",
            name=c.name,
            company=c.company,
            email=c.email,
            phone=c.phone,
            notes=c.notes,
            is_active=c.is_active,
            **owned(c.owner, c.group),
        )
    counts = {"tasks": 0, "comments": 0, "time entries": 0}
    for p in PROJECTS:
        client = CLIENTS[p.customer] if p.customer else None
        # a project is owned as its customer is; an internal one is admin's, of no team
        lead, team = (client.owner, client.group) if client else ("admin", None)
        projects[p.key] = await _create(
            session,
            "projects",
            customer_id=customers[p.customer].id if p.customer else None,
            name=p.name,
            description=DESCRIPTIONS[p.key],
            status=p.status,
            budget=p.budget,
            is_billable=p.is_billable,
            start_date=day(p.start),
            due_date=day(p.due),
            **owned(lead, team),
        )
        for t in TASKS[p.key]:
            owner = t.assignee or lead
            task = await _create(
                session,
                "tasks",
                project_id=projects[p.key].id,
                title=t.title,
                status=t.status,
                priority=t.priority,
                assignee_id=users[t.assignee].id if t.assignee else None,
                due_at=None if t.due is None else at(day(t.due), 17),
                estimate_hours=t.estimate,
                completed_at=at(done_on(t, today), 16) if t.status == "done" else None,
                tag_ids=[tags[name].id for name in t.tags.split()],
                **owned(owner, team),
            )
            for comment in COMMENTS.get(t.title, ()):
                author, body = comment.split(": ", 1)
                await _create(
                    session, "comments", task_id=task.id, body=body, **owned(author, team)
                )
                counts["comments"] += 1
            for spent_on, minutes, note in time_spent(counts["tasks"], p, t, today):
                await _create(
                    session,
                    "time_entries",
                    task_id=task.id,
                    user_id=users[owner].id,
                    spent_on=spent_on,
                    minutes=minutes,
                    note=note,
                    is_billable=p.is_billable,
                    **owned(owner, team),
                )
                counts["time entries"] += 1
            counts["tasks"] += 1
    sizes = {"tags": len(tags), "customers": len(customers), "projects": len(projects)} | counts
    return ["demo data: " + ", ".join(f"{n} {name}" for name, n in sizes.items())]


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def done_on(task: Todo, today: date) -> date:
    """Return the day a done task was finished: the day before it was due, or yesterday."""
    due = today if task.due is None else today + timedelta(days=task.due)
    return min(due, today) - timedelta(days=1)


def time_spent(index: int, project: Work, task: Todo, today: date) -> list[tuple[date, int, str]]:
    """Return the (day, minutes, note) entries of the `index`th task, taken from the cycles:
    none for a task nobody has started, none before its project started or after it was done."""
    if task.status not in WORKED:
        return []
    start = today + timedelta(days=project.start)
    last = done_on(task, today) if task.status == "done" else today
    return [
        (
            max(start, last - timedelta(days=2 * n + index % 3)),
            MINUTES[(index + n) % len(MINUTES)],
            NOTES[(index + n) % len(NOTES)],
        )
        for n in range(1 + index % 3)
    ]


def _valid(path: str, **fields: Any) -> dict[str, Any]:
    """Return `fields` as the resource's create schema (and its rules) accept them."""
    schema = REGISTRY[path].create_schema
    assert schema is not None
    values = schema.model_validate(fields).model_dump()
    for rule in getattr(schema, "rules", ()):
        if not rule.holds(values):
            raise ValueError(f"demo {path}: {rule.message}: {fields}")
    return values


async def _create(session: AsyncSession, path: str, **fields: Any) -> Any:
    """Create a record as the API does: validated by its create schema, through its crud."""
    return await REGISTRY[path].crud.create(session=session, values=_valid(path, **fields))
