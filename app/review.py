"""Access review for auditors: who holds what (`report`), what changed between two
reports (`diff`), and expected decisions checked against the stored policy (`policy test`).

Everything reads the same loaded Casbin policy the app decides with, and speaks in names.
"""

import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import casbin
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli_data import (
    CliError,
    Directory,
    find_user,
    held_by,
    known_model,
    parse_perm,
    role_ids_of,
)
from app.core.enforcer import PolicyEngine, enforce_raw, group_sub, role_sub, user_sub
from app.models import Permission, Role, User
from app.models.audit import AuditEntry

REPORT_FORMAT = "policy-report/1"


async def report(
    session: AsyncSession, policy: PolicyEngine, *, ids: bool = False
) -> dict[str, Any]:
    """Every user's effective permissions, each with the roles it comes from: the access
    review an auditor signs. Users without any permission are listed too."""
    directory = await Directory.load(session, ids=ids)
    users = []
    for user in await session.scalars(select(User).order_by(User.username)):
        entry: dict[str, Any] = {"user": directory.user(user.id), "active": user.is_active}
        if ids:
            entry["user_id"] = user.id
        users.append(entry | held_by(policy, directory, user.id))
    return {
        "format": REPORT_FORMAT,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "policy_revision": policy.revision,
        "users": users,
    }


def held_rows(found: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, list[str], list[str]]]:
    """Each user with each permission they hold, its roles and, for the group scope, the
    groups it reaches; a user without any permission once, with permission "" and no roles."""
    for user in found["users"]:
        for held in user["permissions"] or [{"permission": "", "roles": []}]:
            reached = user["groups"] if held["permission"].endswith(":group") else []
            yield user, held["permission"], held["roles"], reached


def report_rows(found: dict[str, Any]) -> list[list[str]]:
    """The table's rows: one per user and permission (a user without any: one saying so)."""
    rows = []
    for user, permission, roles, reached in held_rows(found):
        name = user["user"] if user["active"] else f"{user['user']} (inactive)"
        if not permission:
            rows.append([name, "(no permissions)", "", ""])
            continue
        groups = (", ".join(reached) or "-") if permission.endswith(":group") else ""
        rows.append([name, permission, ", ".join(roles), groups])
    return rows


REPORT_HEADERS = ("user", "permission", "via roles", "groups reached")


def read_report(path: str) -> dict[str, Any]:
    """Load a report `policy report --format json` wrote; refuse anything else."""
    try:
        found = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CliError(f"cannot read report {path}: {exc}") from exc
    if not isinstance(found, dict) or found.get("format") != REPORT_FORMAT:
        raise CliError(f"{path} is not a report of `policy report --format json`")
    return found


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Who gained and who lost what between two reports, user by user (by username)."""

    def index(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {user["user"]: user for user in found["users"]}

    before, after = index(old), index(new)
    changes = []
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        held_then = {p["permission"]: p["roles"] for p in (was or {}).get("permissions", [])}
        held_now = {p["permission"]: p["roles"] for p in (now or {}).get("permissions", [])}
        change: dict[str, Any] = {
            "user": name,
            "status": "added" if was is None else "removed" if now is None else "changed",
            "gained": [
                {"permission": p, "roles": held_now[p]}
                for p in sorted(held_now.keys() - held_then.keys())
            ],
            "lost": [
                {"permission": p, "roles": held_then[p]}
                for p in sorted(held_then.keys() - held_now.keys())
            ],
            "roles": [(was or {}).get("roles", []), (now or {}).get("roles", [])],
            "groups": [(was or {}).get("groups", []), (now or {}).get("groups", [])],
            "active": [(was or {}).get("active"), (now or {}).get("active")],
        }
        moved = (
            change["gained"]
            or change["lost"]
            or change["status"] != "changed"
            or change["roles"][0] != change["roles"][1]
            or change["groups"][0] != change["groups"][1]
            or change["active"][0] != change["active"][1]
        )
        if moved:
            changes.append(change)
    return changes


# Policy tests: expected decisions, checked against the stored policy.

RELATIONS = {"owner": "owner", "group": "group", "group member": "group", "stranger": "stranger"}
# The hypothetical group every tested subject is in, and the owners of a stranger's record:
# no real row has these ids (they start at 1).
TEAM = group_sub(0)
STRANGER, STRANGERS = user_sub(-1), group_sub(-1)


@dataclass
class Case:
    number: int
    name: str
    subject: str  # "role admin" or "user demo"
    permission: str
    record: str | None
    expect: bool

    def describe(self) -> str:
        on = f" on a record whose {RECORD_WORDS[self.record]}" if self.record else ""
        return f"{self.subject} {self.permission}{on}"


RECORD_WORDS = {
    "owner": "owner is them",
    "group": "group is theirs",
    "stranger": "owner and group are strangers'",
}


@dataclass
class Outcome:
    case: Case
    allowed: bool

    @property
    def passed(self) -> bool:
        return self.allowed == self.case.expect


def read_cases(path: str) -> list[dict[str, Any]]:
    try:
        found = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    cases = found.get("case")
    if not isinstance(cases, list) or not cases:
        raise CliError(f"{path} has no [[case]] tables")
    return cases


def parse_case(number: int, raw: Any) -> tuple[Case, str | None, str | None]:
    """Check one `[[case]]`'s fields; return it with the role or user name it is about."""
    where = f"case {number}"
    if not isinstance(raw, dict):
        raise CliError(f"{where}: expected a table")
    unknown = set(raw) - {"name", "role", "user", "permission", "record", "expect"}
    if unknown:
        raise CliError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    role, user = raw.get("role"), raw.get("user")
    if (role is None) == (user is None) or not isinstance(role or user, str):
        raise CliError(f'{where}: give either role = "NAME" or user = "NAME"')
    permission = raw.get("permission")
    if not isinstance(permission, str):
        raise CliError(f'{where}: permission = "MODEL:ACTION[:SCOPE]" is required')
    known_model(parse_perm(permission, scope=True)[0])
    record = raw.get("record")
    if record is not None and record not in RELATIONS:
        raise CliError(f"{where}: record must be one of {', '.join(RELATIONS)}, not {record!r}")
    expect = raw.get("expect")
    if expect not in ("allow", "deny"):
        raise CliError(f'{where}: expect must be "allow" or "deny"')
    subject = f"role {role}" if role is not None else f"user {user}"
    relation = RELATIONS[record] if record is not None else None
    case = Case(
        number, str(raw.get("name") or ""), subject, permission, relation, expect == "allow"
    )
    return case, role, user


async def run_cases(
    session: AsyncSession, policy: PolicyEngine, raw_cases: list[Any]
) -> list[Outcome]:
    """Decide every case with the stored policy's own enforcer.

    A role is tried as a hypothetical user holding only that role; every subject is put, in
    memory only, in a hypothetical group, so that "group" means a record of a group they are
    in. Nothing is written: the enforcer's changes are never saved.
    """
    roles = {name: role_id for role_id, name in await session.execute(select(Role.id, Role.name))}
    enforcer = policy.enforcer
    enforcer.enable_auto_save(False)
    outcomes = []
    for number, raw in enumerate(raw_cases, 1):
        case, role, username = parse_case(number, raw)
        if role is not None:
            if role not in roles:
                raise CliError(f"case {number}: unknown role {role!r}")
            sub = user_sub(-1000 - number)
            enforcer.add_named_grouping_policy("g", sub, role_sub(roles[role]))
        else:
            user = await session.scalar(select(User).where(User.username == username))
            if user is None:
                raise CliError(f"case {number}: unknown user {username!r}")
            sub = user_sub(user.id)
        enforcer.add_named_grouping_policy("g2", sub, TEAM)
        outcomes.append(Outcome(case, decide(enforcer, sub, case)))
    return outcomes


def decide(enforcer: casbin.Enforcer, sub: str, case: Case) -> bool:
    """Without a scope, the enforcer's decision; with one, whether a rule of exactly that
    scope is held (and reaches the record, when one is given)."""
    model, action, scope = parse_perm(case.permission, scope=True)
    records = {
        "owner": (sub, STRANGERS),
        "group": (STRANGER, TEAM),
        "stranger": (STRANGER, STRANGERS),
    }
    relations = [case.record] if case.record else list(records)
    if scope is None:
        return any(enforce_raw(enforcer, sub, model, action, *records[r]) for r in relations)
    roles = enforcer.get_named_role_manager("g").get_roles(sub)
    held = any(enforcer.has_named_policy("p", role, model, action, scope) for role in roles)
    reaches = {
        "all": True,
        "own": case.record in (None, "owner"),
        "group": case.record in (None, "group"),
    }
    return held and reaches[scope]


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
ACCESS_TABLES = {"users": "user", "roles": "role", "groups": "group", "permissions": "permission"}


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
    names = Names(directory, {p.id: str(p) for p in await session.scalars(select(Permission))})
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
class Names:
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
                self.recorded[("permissions", entry.record_id)] = ":".join(map(str, parts))
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
        }[table]
        key = row_id if row_id is not None else 0
        if key in current:
            shown = current[key]
        elif (table, key) in self.recorded:
            shown = f"{self.recorded[table, key]} (deleted)"
        else:
            shown = f"{kind[0]}:{row_id} (unknown)"
        return f"{shown} ({kind[0]}:{row_id})" if self.directory.ids else shown

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
        said = [change_text(f, v) for f, v in sorted(changes.items()) if f in ACCESS_FIELDS]
        # Links changed alone are told by their own events (role_granted, ...).
        return f"changed {kind} {name}: {'; '.join(said)}" if said else None


# The fields whose change alters who may do what (or who someone is).
ACCESS_FIELDS = frozenset(
    {"username", "is_active", "hashed_password", "name", "model", "action", "scope"}
)


def change_text(field: str, value: Any) -> str:
    if field == "is_active":
        return "deactivated" if value == [True, False] else "reactivated"
    if not isinstance(value, list):
        return f"{'password' if field == 'hashed_password' else field} {value}"  # a secret
    old, new = value
    return f"{field} {old!r} -> {new!r}"
