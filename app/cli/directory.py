"""Who and what the `policy` commands speak of: users, roles and groups by name, the
models a permission can name, and one transaction on the app's engine."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.output import CliError
from app.core.config import Settings
from app.core.database import create_app_engine
from app.core.enforcer import PolicyEngine, role_sub, user_sub
from app.core.numbers import whole_number
from app.core.permissions import permission_name
from app.db import create_sessionmaker
from app.models import User
from app.resources import EXTRA_PERMISSIONS, PERMISSION_MODELS, REGISTRY, Resource


@asynccontextmanager
async def transaction(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One session in one transaction, committed on success, on the app's async engine."""
    engine = create_app_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()


def parse_perm(text: str, *, scope: bool = False) -> tuple[str, str, str | None]:
    """Split `model:action` (or `model:action:scope` when `scope`) into its parts."""
    parts = text.split(":")
    if (len(parts) == 2 or (scope and len(parts) == 3)) and all(parts):
        return parts[0], parts[1], parts[2] if len(parts) == 3 else None
    wanted = "MODEL:ACTION[:SCOPE]" if scope else "MODEL:ACTION"
    raise CliError(f"expected {wanted}, got {text!r}")


async def find_user(session: AsyncSession, name: str) -> User:
    """Return the user named by username (any case), or by id when no username matches."""
    user = await session.scalar(select(User).where(func.lower(User.username) == name.lower()))
    user_id = whole_number(name) if user is None else None
    if user_id is not None:
        user = await session.get(User, user_id)
    if user is None:
        raise CliError(f"unknown user {name!r}")
    return user


async def names(session: AsyncSession, path: str) -> dict[int, str]:
    """Return id -> title (a user's username, a role's name) of every record of a table."""
    res = REGISTRY[path]
    title = getattr(res.model, res.title_field)
    return {
        row_id: str(value) for row_id, value in await session.execute(select(res.model.id, title))
    }


@dataclass
class Directory:
    """Users, roles and groups by id, to speak of them by name (with their ids on request).

    Casbin's subjects are `u:<id>`, `r:<id>`, `g:<id>`; one that names no row is shown as
    the id with "(no such user)" and so on: an orphan rule.
    """

    users: dict[int, str]
    roles: dict[int, str]
    groups: dict[int, str]
    ids: bool = False
    conditions: dict[int, str] = field(default_factory=dict)

    @classmethod
    async def load(cls, session: AsyncSession, *, ids: bool = False) -> "Directory":
        return cls(
            await names(session, "users"),
            await names(session, "roles"),
            await names(session, "groups"),
            ids,
            await names(session, "conditions"),
        )

    def condition(self, value: str | int | None) -> str | None:
        """A condition by name, from its id (a rule's text, an audit entry's number): "#7"
        when no condition has that id; None for none."""
        if value in (None, ""):
            return None
        row_id = value if isinstance(value, int) else whole_number(value)
        return self.conditions.get(row_id, f"#{value}") if row_id is not None else str(value)

    def permission(self, parts: Sequence[str]) -> str:
        """A `p` rule's permission by name: `(model, action, scope[, condition id])` as
        `model:action:scope[condition]`."""
        model, action, scope, *rest = parts
        return permission_name(model, action, scope, self.condition(rest[0] if rest else None))

    def _name(self, kind: str, table: dict[int, str], row_id: int | None) -> str:
        if row_id is None:
            return "nobody" if kind == "user" else "none"
        sub = f"{kind[0]}:{row_id}"
        if row_id not in table:
            return f"{sub} (no such {kind})"
        return f"{table[row_id]} ({sub})" if self.ids else table[row_id]

    def user(self, user_id: int | None) -> str:
        return self._name("user", self.users, user_id)

    def role(self, role_id: int | None) -> str:
        return self._name("role", self.roles, role_id)

    def group(self, group_id: int | None) -> str:
        return self._name("group", self.groups, group_id)

    def subject(self, sub: str) -> str:
        """`u:2` -> `demo`; anything else as it is."""
        kind, _, number = sub.partition(":")
        row_id = whole_number(number)
        show = {"u": self.user, "r": self.role, "g": self.group}.get(kind)
        return show(row_id) if show and row_id is not None else sub

    def known(self, sub: str) -> bool:
        """Whether a subject names an existing user, role or group."""
        kind, _, number = sub.partition(":")
        table = {"u": self.users, "r": self.roles, "g": self.groups}.get(kind)
        return table is not None and whole_number(number) in table

    def rule(self, rule: Sequence[str]) -> str:
        """A Casbin rule in words: `role user may task:read:group`, `user demo has role user`."""
        kind, *values = rule
        if kind == "p" and len(values) in (4, 5):
            return f"role {self.subject(values[0])} may {self.permission(values[1:])}"
        if kind == "g" and len(values) == 2:
            return f"user {self.subject(values[0])} has role {self.subject(values[1])}"
        if kind == "g2" and len(values) == 2:
            return f"user {self.subject(values[0])} is in group {self.subject(values[1])}"
        return ", ".join(rule)

    def orphan(self, rule: Sequence[str]) -> bool:
        """Whether a rule names a user, role or group that does not exist."""
        return any(not self.known(value) for value in rule[1:3] if value[:2] in SUBJECTS)


SUBJECTS = ("u:", "r:", "g:")


def known_model(model: str) -> str:
    """Return `model` if a permission can name it (a table's, or an extra one like audit)."""
    extra = {name.split(":", 1)[0] for name in EXTRA_PERMISSIONS}
    if model in PERMISSION_MODELS or model in extra:
        return model
    known = ", ".join((*PERMISSION_MODELS, *sorted(extra)))
    raise CliError(f"unknown model {model!r} (known: {known})")


def resource_for(model: str) -> Resource:
    for res in REGISTRY.values():
        if res.policy_model == model:
            return res
    raise CliError(f"unknown model {model!r} (known: {', '.join(PERMISSION_MODELS)})")


def role_ids_of(policy: PolicyEngine, user_id: int) -> list[int]:
    roles = policy.enforcer.get_named_role_manager("g").get_roles(user_sub(user_id))
    return sorted(int(name[2:]) for name in roles if name.startswith("r:"))


def rules_of(policy: PolicyEngine, role_id: int) -> list[tuple[str, ...]]:
    """Return the (model, action, scope[, condition id]) rules Casbin holds for a role."""
    found = policy.enforcer.get_filtered_named_policy("p", 0, role_sub(role_id))
    return sorted(tuple(value for value in rule[1:5] if value) for rule in found)
