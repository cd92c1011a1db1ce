"""What a transaction changed in the policy: the subjects whose Casbin lines its commit
syncs (noted before each flush, and by deletes made by statement)."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as OrmSession

from app.models import Group, Permission, Role, User


@dataclass
class PolicyScope:
    """The subjects a change touched, whose Casbin lines a sync recomputes: users (their `g`
    and `g2` lines), roles (their grants and holders), groups (their members), and grants
    (`model, action, scope`: every role's line of that permission, old values and new)."""

    users: set[int] = field(default_factory=set)
    roles: set[int] = field(default_factory=set)
    groups: set[int] = field(default_factory=set)
    grants: set[tuple[str, str, str]] = field(default_factory=set)
    pending: list[Any] = field(default_factory=list)  # new objects: ids come with the flush

    def touch(self, obj: Any) -> None:
        if isinstance(obj, Permission):
            self.grants.update(_grant_values(obj))
            return
        identity = inspect(obj).identity
        if identity is None:
            self.pending.append(obj)
        else:
            self._add(obj, identity[0])

    def _add(self, obj: Any, obj_id: int) -> None:
        kind = {User: self.users, Role: self.roles, Group: self.groups}[type(obj)]
        kind.add(obj_id)

    def resolve(self) -> None:
        """Take the ids of the new objects touched (call after the flush)."""
        for obj in self.pending:
            identity = inspect(obj).identity
            if identity is not None:
                self._add(obj, identity[0])
        self.pending.clear()

    @property
    def subjects(self) -> tuple[set[int], set[int], set[int]]:
        return self.users, self.roles, self.groups

    @property
    def size(self) -> int:
        return len(self.users) + len(self.roles) + len(self.groups) + len(self.grants)


def _grant_values(permission: Permission) -> set[tuple[str, str, str]]:
    """The permission's `(model, action, scope)` now and as stored before this flush."""
    state = inspect(permission)
    now = (permission.model, permission.action, permission.scope)
    found = {now}
    histories = [state.attrs[name].history for name in ("model", "action", "scope")]
    if any(history.deleted for history in histories):
        before = tuple(
            (history.deleted or history.unchanged or [value])[0]
            for history, value in zip(histories, now, strict=True)
        )
        found.add(before)  # type: ignore[arg-type]
    return {grant for grant in found if all(isinstance(part, str) for part in grant)}


# Attributes whose change alters the Casbin policy; a flush touching one marks the
# session so that the session dependency syncs the policy before it commits.
POLICY_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    User: ("roles", "groups"),
    Role: ("permissions",),
    Group: ("members",),
    Permission: ("model", "action", "scope", "condition_id"),
}


def mark_policy_dirty(session: OrmSession, _context: object, _instances: object) -> None:
    """Before a flush: note in `session.info` which subjects it changes the policy of."""
    for obj in (*session.new, *session.deleted):
        if type(obj) in POLICY_ATTRIBUTES:
            touch_policy(session, obj)
    for obj in session.dirty:
        names = POLICY_ATTRIBUTES.get(type(obj), ())
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in names):
            touch_policy(session, obj)


def touch_policy(session: OrmSession | AsyncSession, obj: Any) -> None:
    """Note that this transaction changed the Casbin lines of `obj` (a user, role, group or
    permission): its commit syncs them."""
    session.info[POLICY_DIRTY] = True
    scope = session.info.setdefault(POLICY_SCOPE, PolicyScope())
    scope.touch(obj)


def pending_scope(session: AsyncSession) -> PolicyScope | None:
    """The subjects this transaction touched (None: unknown, sync everything)."""
    return session.info.get(POLICY_SCOPE)


POLICY_DIRTY = "policy_dirty"
# session.info key: the PolicyScope of the subjects this transaction touched.
POLICY_SCOPE = "policy_scope"
# session.info key: (revision, changes) this session's sync wrote (applied once committed).
POLICY_WRITTEN = "policy_written"
