"""Create the database if needed, migrate it and seed the default data (idempotent).

Run as `python -m app.init_db`. When the database cannot be reached, or fails, it prints
one line saying where it looked, the SQL state and what to check (`--debug` adds the
statement and the traceback), and exits with status 1. With `--demo-data` it
also loads the sample company of `app/demo_data.py`, into a database without business
records only: any other it refuses in one line, changing nothing, and exits with status 1.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import demo_data
from app.cli.failures import describe_target, report_failure
from app.core.config import PROJECT_ROOT, Settings, get_settings
from app.core.database import create_app_engine, create_sync_engine
from app.core.security import passwords_for
from app.crud.policy import sync_policy
from app.db import create_sessionmaker
from app.models import ACTIONS, SCOPES, Group, Permission, Role, User
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS, RESOURCES, Resource

ADMIN_ROLE = "admin"


def default_role_permissions(
    resources: Sequence[Resource] = RESOURCES,
) -> dict[str, set[str]]:
    """Return each default role's permissions as `model:action:scope` strings: admin's
    every `all` one (and the extra ones), the others' as each resource declares them."""
    roles: dict[str, set[str]] = {name: set() for name in ROLE_DESCRIPTIONS}
    roles[ADMIN_ROLE] = {f"{r.policy_model}:{a}:all" for r in resources for a in ACTIONS}
    if resources is RESOURCES:
        roles[ADMIN_ROLE] |= set(EXTRA_PERMISSIONS)
    for res in resources:
        for role, items in res.default_grants.items():
            roles[role] |= {f"{res.policy_model}:{item}" for item in items}
    return roles


ROLE_DESCRIPTIONS = {
    "admin": "Every action on every record",
    "user": "Given at registration: own records, and reading the group's",
    "manager": "Every action on the group's business records",
}


@dataclass(frozen=True)
class DefaultUser:
    username: str
    password: str
    email: str
    full_name: str
    role: str
    groups: tuple[str, ...] = field(default=())


DEFAULT_USERS = (
    DefaultUser("admin", "admin123", "admin@example.com", "Administrator", "admin"),
    DefaultUser("demo", "demo123", "demo@example.com", "Demo User", "user", ("demo-team",)),
)
DEFAULT_GROUPS = {"demo-team": "The demo user's team"}


async def seed(session: AsyncSession, settings: Settings, *, demo: bool = False) -> list[str]:
    """Seed the default data (with `demo`, the sample company too); return what was created.

    Every run makes sure each registered model has its permissions (12: four actions in
    three scopes). When a model gets its first ones (a table added after the database was
    made), the `admin` role is granted its `:all` permissions and, while the table is
    empty, each other seeded role what the table's registry entry declares for it; later
    runs leave grants alone, so a grant an admin removes stays removed (a model whose
    permissions an admin deleted gets them back, granted to admin only). The roles,
    groups and accounts are seeded only into a database without users, so an account an
    admin deleted (with its well-known password) never comes back at the next start. With
    `demo`, the sample company follows, or `demo_data.Refused` is raised (and the caller
    rolls back).
    """
    created: list[str] = []
    fresh = await session.scalar(select(User.id).limit(1)) is None
    existing = {
        str(p): p for p in await session.scalars(select(Permission).order_by(Permission.id))
    }
    known_models = {p.model for p in existing.values()}
    new_models = [m for m in PERMISSION_MODELS if m not in known_models]
    for model in PERMISSION_MODELS:
        for action in ACTIONS:
            for scope in SCOPES:
                name = f"{model}:{action}:{scope}"
                if name not in existing:
                    existing[name] = Permission(model=model, action=action, scope=scope)
                    session.add(existing[name])
                    created.append(f"permission {name}")
    new_extras = []
    for name in EXTRA_PERMISSIONS:
        if name not in existing:
            model, action, scope = name.split(":")
            existing[name] = Permission(model=model, action=action, scope=scope)
            session.add(existing[name])
            created.append(f"permission {name}")
            new_extras.append(existing[name])
    await session.flush()
    if fresh:
        created += await _seed_accounts(session, settings, existing)
    else:
        added = [res for res in RESOURCES if res.policy_model in new_models]
        # The other seeded roles get a model's declared grants only with a table still
        # empty (one just added), never again for one whose permissions an admin deleted.
        empty = [
            res for res in added if await session.scalar(select(res.model.id).limit(1)) is None
        ]
        wanted = default_role_permissions(added)
        wanted |= {
            role: names
            for role, names in default_role_permissions(empty).items()
            if role != ADMIN_ROLE
        }
        grants = {
            role: [existing[name] for name in sorted(names)] for role, names in wanted.items()
        }
        grants[ADMIN_ROLE] += new_extras
        created += await _grant_new(session, grants)
    if demo:
        created += await demo_data.load(session, settings)
    diff = await sync_policy(session)
    if diff.changed:
        created.append(f"policy +{len(diff.added)} -{len(diff.removed)}")
    return created


async def _grant_new(session: AsyncSession, grants: dict[str, list[Permission]]) -> list[str]:
    """Grant each seeded role (that still exists) its new permissions."""
    wanted = [name for name, given in grants.items() if given]
    if not wanted:
        return []
    stmt = select(Role).where(Role.name.in_(wanted)).options(selectinload(Role.permissions))
    granted = []
    for role in await session.scalars(stmt):
        role.permissions = [*role.permissions, *grants[role.name]]
        granted += [f"role {role.name} granted {grant}" for grant in grants[role.name]]
    await session.flush()
    return sorted(granted)


async def _seed_accounts(
    session: AsyncSession, settings: Settings, permissions: dict[str, Permission]
) -> list[str]:
    """Create the default roles, groups and accounts that are missing."""
    created: list[str] = []
    roles = {r.name: r for r in await session.scalars(select(Role))}
    for name, wanted in default_role_permissions().items():
        if name not in roles:
            roles[name] = Role(
                name=name,
                description=ROLE_DESCRIPTIONS[name],
                permissions=[permissions[p] for p in sorted(wanted)],
            )
            session.add(roles[name])
            created.append(f"role {name}")

    groups = {g.name: g for g in await session.scalars(select(Group))}
    for name, description in DEFAULT_GROUPS.items():
        if name not in groups:
            groups[name] = Group(name=name, description=description)
            session.add(groups[name])
            created.append(f"group {name}")
    await session.flush()

    passwords = passwords_for(settings)
    for spec in DEFAULT_USERS:  # a database without users: none of them exists
        user = User(
            username=spec.username,
            email=spec.email,
            full_name=spec.full_name,
            hashed_password=await passwords.hash(spec.password),
            roles=[roles[spec.role]],
            groups=[groups[g] for g in spec.groups],
        )
        session.add(user)
        await session.flush()
        user.owner_user_id = user.id
        created.append(f"user {spec.username}")
    return created


def ensure_database(settings: Settings) -> bool:
    """Create the PostgreSQL database named by the settings if it is missing."""
    if settings.is_sqlite:
        settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return False
    url = make_url(settings.sync_database_url)
    name = url.database
    admin = create_engine(
        url.set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 5},
    )
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        admin.dispose()


def migrate(settings: Settings, target: str = "head") -> None:
    """Run the Alembic migrations up to `target` (default: the newest)."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    engine = create_sync_engine(settings)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, target)
    finally:
        engine.dispose()


async def seed_database(settings: Settings, *, demo: bool = False) -> list[str]:
    """Seed through the app's own async engine, in one transaction."""
    engine = create_app_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await seed(session, settings, demo=demo)
    finally:
        await engine.dispose()


def refuse_used_database(settings: Settings) -> None:
    """Raise `demo_data.Refused` if the database's business tables hold a record."""
    engine = create_sync_engine(settings)
    try:
        with engine.connect() as connection:
            demo_data.refuse_records(connection)
    finally:
        engine.dispose()


def init_db(settings: Settings, *, demo: bool = False) -> list[str]:
    """Create, migrate and seed (with `demo`, the sample company too); return what changed."""
    created = ensure_database(settings)
    if demo and not created:
        # Before migrating, so that refusing a database in use changes nothing at all.
        refuse_used_database(settings)
    migrate(settings)
    changes = ["database created"] if created else []
    return changes + asyncio.run(seed_database(settings, demo=demo))


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.init_db", description="Create, migrate and seed the database."
    )
    parser.add_argument(
        "--demo-data",
        action="store_true",
        help="also load a small sample company (into a database without business records only)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on a database error, also print the statement and the traceback",
    )
    args = parser.parse_args()
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"init_db: invalid settings: {exc}", file=sys.stderr)
        return 2
    target = describe_target(settings)
    try:
        changes = init_db(settings, demo=args.demo_data)
    except demo_data.Refused as exc:
        print(f"init_db: --demo-data refused: {target}: {exc}; nothing changed", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # one line, never the statement (`--debug` adds it)
        report_failure("init_db", target, exc, debug=args.debug)
        return 1
    if changes:
        print(
            f"init_db: {target}: "
            + "; ".join(changes[:5])
            + (f"; and {len(changes) - 5} more" if len(changes) > 5 else "")
        )
    else:
        print(f"init_db: {target} is up to date; nothing to change")
    if args.demo_data:
        print(
            f"init_db: demo data loaded; at http://localhost:{settings.claude_internal_port} sign "
            "in as admin / admin123 (everything) or demo / demo123 (own and demo-team records)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
