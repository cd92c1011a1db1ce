"""`policy history`: the access changes the audit log holds, oldest first, in names."""

import argparse
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.directory import Directory, find_user, role_ids_of, transaction
from app.cli.output import emit_json, table
from app.core.config import Settings
from app.core.enforcer import PolicyEngine, load_policy
from app.core.permissions import permission_name
from app.models import Permission
from app.models.audit import AuditEntry


async def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    async with transaction(settings) as session:
        policy = await load_policy(settings)
        found = await history(session, policy, args.user, args.since, ids=args.ids)
    if args.json:
        emit_json({"entries": found})
    elif found:
        print(table(("at", "by", "change"), [(e["at"], e["actor"], e["text"]) for e in found]))
    else:
        print(
            "no access changes recorded" + (f" since {args.since:%Y-%m-%d}" if args.since else "")
        )
    return 0


# History: the access changes the audit log holds, in names.

LINKS = frozenset(
    {
        "role_granted",
        "role_removed",
        "group_joined",
        "group_left",
        "permission_granted",
        "permission_revoked",
    }
)
ACCESS_TABLES = {
    "users": "user",
    "roles": "role",
    "groups": "group",
    "permissions": "permission",
    "conditions": "condition",
}


def history_statement(since: datetime | None) -> Select[Any]:
    """Access events, oldest first: links granted and removed, the access tables' records
    created, changed and deleted, and policy syncs not made by a request (the command's)."""
    table = AuditEntry.__table__
    stmt = select(table).where(
        or_(
            table.c.event.in_(LINKS),
            table.c.event.in_(("created", "updated", "deleted"))
            & table.c.resource.in_(ACCESS_TABLES),
            (table.c.event == "policy_sync") & table.c.request_id.is_(None),
        )
    )
    if since is not None:
        stmt = stmt.where(table.c.at >= since)
    return stmt.order_by(table.c.id)


async def history(
    session: AsyncSession,
    policy: PolicyEngine,
    username: str | None,
    since: datetime | None,
    *,
    ids: bool = False,
) -> list[dict[str, Any]]:
    """The access changes since `since` (about one user: their roles, groups, account and
    the grants of the roles they hold now), oldest first, each in words."""
    directory = await Directory.load(session, ids=ids)
    entries = list((await session.execute(history_statement(since))).all())
    names = EntryNames(directory, {p.id: str(p) for p in await session.scalars(select(Permission))})
    for entry in entries:
        names.remember(entry)
    if username is not None:
        user = await find_user(session, username)
        entries = [e for e in entries if about(e, user.id, set(role_ids_of(policy, user.id)))]
    found = []
    for entry in entries:
        text = names.describe(entry)
        if text is None:
            continue
        item = {
            "at": entry.at.isoformat(timespec="seconds"),
            "actor": entry.actor_name or "the system",
            "event": entry.event,
            "text": text,
        }
        if ids:
            item |= {"id": entry.id, "resource": entry.resource, "record_id": entry.record_id}
        found.append(item)
    return found


def about(entry: Any, user_id: int, role_ids: set[int]) -> bool:
    """Whether an entry changes what the user may do."""
    changes = entry.changes or {}
    if entry.resource == "users":
        return entry.record_id == user_id
    if entry.resource == "groups" and entry.event in LINKS:
        return changes.get("member_id") == user_id
    return entry.resource == "roles" and entry.event in LINKS and entry.record_id in role_ids


@dataclass
class EntryNames:
    """Names for an entry's records: the tables' now, else the last the log recorded."""

    directory: Directory
    permissions: dict[int, str]

    def __post_init__(self) -> None:
        self.recorded: dict[tuple[str, int], str] = {}

    def remember(self, entry: Any) -> None:
        """Keep the name a created, changed or deleted record had (the newest seen)."""
        if entry.event not in ("created", "updated", "deleted") or entry.record_id is None:
            return
        changes = entry.changes or {}

        def latest(field: str) -> Any:
            old, new = changes.get(field) or (None, None)
            return new if new is not None else old

        if entry.resource == "permissions":
            parts = [latest(field) for field in ("model", "action", "scope")]
            if all(parts):
                condition = self.directory.condition(latest("condition_id"))
                name = permission_name(*map(str, parts), condition)
                self.recorded[("permissions", entry.record_id)] = name
            return
        name = latest("username" if entry.resource == "users" else "name")
        if name:
            self.recorded[(entry.resource, entry.record_id)] = str(name)

    def of(self, table: str, row_id: int | None) -> str:
        """A record of an access table by name: now, else as last recorded, "(deleted)"."""
        kind = ACCESS_TABLES[table]
        current = {
            "users": self.directory.users,
            "roles": self.directory.roles,
            "groups": self.directory.groups,
            "permissions": self.permissions,
            "conditions": self.directory.conditions,
        }[table]
        key = row_id if row_id is not None else 0
        if key in current:
            shown = current[key]
        elif (table, key) in self.recorded:
            shown = f"{self.recorded[table, key]} (deleted)"
        else:
            shown = f"{kind[0]}:{row_id} (unknown)"
        return f"{shown} ({kind[0]}:{row_id})" if self.directory.ids else shown

    def named_change(self, field: str, value: Any) -> tuple[str, Any]:
        """A change of a permission's condition by the conditions' names."""
        if field == "condition_id" and isinstance(value, list):
            return "condition", [self.directory.condition(row_id) for row_id in value]
        return field, value

    def describe(self, entry: Any) -> str | None:
        changes = entry.changes or {}
        event, table = entry.event, entry.resource
        if event == "policy_sync":
            added, removed = len(changes.get("added", [])), len(changes.get("removed", []))
            revision = changes.get("revision")
            return (
                f"synced the policy: {added} rule(s) added, {removed} removed (revision {revision})"
            )
        if event in ("role_granted", "role_removed"):
            user, role = self.of("users", entry.record_id), self.of("roles", changes.get("role_id"))
            if event == "role_granted":
                return f"gave user {user} role {role}"
            return f"took role {role} from user {user}"
        if event in ("group_joined", "group_left"):
            if table == "groups":
                user, group = changes.get("member_id"), entry.record_id
            else:
                user, group = entry.record_id, changes.get("group_id")
            who, where = self.of("users", user), self.of("groups", group)
            if event == "group_joined":
                return f"added user {who} to group {where}"
            return f"removed user {who} from group {where}"
        if event in ("permission_granted", "permission_revoked"):
            perm = self.of("permissions", changes.get("permission_id"))
            role = self.of("roles", entry.record_id)
            if event == "permission_granted":
                return f"granted {perm} to role {role}"
            return f"revoked {perm} from role {role}"
        kind, name = ACCESS_TABLES.get(table or "", table), self.of(table, entry.record_id)
        if event != "updated":
            return f"{event} {kind} {name}"
        said = [
            change_text(*self.named_change(f, v))
            for f, v in sorted(changes.items())
            if f in ACCESS_FIELDS
        ]
        # Links changed alone are told by their own events (role_granted, ...).
        return f"changed {kind} {name}: {'; '.join(said)}" if said else None


# The fields whose change alters who may do what (or who someone is).
ACCESS_FIELDS = frozenset(
    {
        "username",
        "is_active",
        "hashed_password",
        "name",
        "model",
        "action",
        "scope",
        "condition_id",
        "expression",
    }
)


def change_text(field: str, value: Any) -> str:
    if field == "is_active":
        return "deactivated" if value == [True, False] else "reactivated"
    if not isinstance(value, list):
        return f"{'password' if field == 'hashed_password' else field} {value}"  # a secret
    old, new = value
    return f"{field} {old!r} -> {new!r}"
