"""`policy test`: expected decisions, written in a TOML file, checked against the stored
policy."""

import argparse
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.directory import known_model, parse_perm, transaction
from app.cli.output import CliError, emit_json
from app.core.conditions.checker import catalog
from app.core.conditions.compiled import Asked
from app.core.conditions.evaluate import Env, Subject, View
from app.core.config import Settings
from app.core.enforcer import PolicyEngine, enforce_raw, group_sub, load_policy, role_sub, user_sub
from app.models import Role, User


async def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    cases = read_cases(args.file)
    async with transaction(settings) as session:
        outcomes = await run_cases(session, await load_policy(settings), cases)
    failed = [o for o in outcomes if not o.passed]
    if args.json:
        emit_json(
            {
                "passed": len(outcomes) - len(failed),
                "failed": [
                    {
                        "case": o.case.number,
                        "name": o.case.name,
                        "decision": o.case.describe(),
                        "expected": "allow" if o.case.expect else "deny",
                        "got": "allow" if o.allowed else "deny",
                    }
                    for o in failed
                ],
            }
        )
        return 1 if failed else 0
    for outcome in failed:
        case = outcome.case
        title = f" ({case.name})" if case.name else ""
        expected, got = ("allow", "deny") if case.expect else ("deny", "allow")
        print(f"FAIL case {case.number}{title}: {case.describe()}: expected {expected}, got {got}")
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed ({args.file})")
    return 1 if failed else 0


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
    # The record's attributes, for conditions: its columns (`status = "done"`), a related
    # record's by a dotted name (`"project.status" = "active"`), a to-many relation's rows as
    # a list of tables (`tags = [{ name = "urgent" }]`); and the time they are decided at.
    attributes: dict[str, Any] | None = None
    now: datetime | None = None

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
    fields = {"name", "role", "user", "permission", "record", "expect", "attributes", "now"}
    unknown = set(raw) - fields
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
    attributes = raw.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise CliError(f'{where}: attributes must be a table, e.g. {{ status = "done" }}')
    now = raw.get("now")
    if now is not None and not isinstance(now, datetime):
        raise CliError(f"{where}: now must be a TOML date-time, e.g. 2026-01-31T09:00:00Z")
    if isinstance(now, datetime) and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    subject = f"role {role}" if role is not None else f"user {user}"
    relation = RELATIONS[record] if record is not None else None
    case = Case(
        number,
        str(raw.get("name") or ""),
        subject,
        permission,
        relation,
        expect == "allow",
        attributes,
        now,
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
            subject = Subject(-1000 - number, "", frozenset({0}), frozenset({role}))
        else:
            user = await session.scalar(select(User).where(User.username == username))
            if user is None:
                raise CliError(f"case {number}: unknown user {username!r}")
            sub = user_sub(user.id)
            found = policy.subject(user.id, user.username)
            subject = Subject(user.id, user.username, found.groups | {0}, found.roles)
        enforcer.add_named_grouping_policy("g2", sub, TEAM)
        outcomes.append(Outcome(case, decide(policy, sub, case, subject)))
    return outcomes


def decide(policy: PolicyEngine, sub: str, case: Case, subject: Subject) -> bool:
    """Without a scope, the enforcer's decision (of a record with the case's attributes,
    for conditions); with one, whether a rule of exactly that scope is held (and reaches
    the record, when one is given)."""
    enforcer = policy.enforcer
    model, action, scope = parse_perm(case.permission, scope=True)
    records = {
        "owner": (sub, STRANGERS),
        "group": (STRANGER, TEAM),
        "stranger": (STRANGER, STRANGERS),
    }
    relations = [case.record] if case.record else list(records)
    if scope is None:

        def can(act: str, target: str, view: View) -> bool:
            owner, group = view.get("owner_user_id"), view.get("owner_group_id")
            return enforce_raw(
                enforcer,
                sub,
                target,
                act,
                user_sub(owner) if owner is not None else "",
                group_sub(group) if group is not None else "",
                Asked(view, env, policy.conditions),
            )

        env = Env(subject, case.now or datetime.now(UTC), can)

        def asked(relation: str) -> Asked:
            values = dict(case.attributes or {})  # the owners the relation says, as ids
            values.setdefault("owner_user_id", subject.id if relation == "owner" else -1)
            values.setdefault("owner_group_id", 0 if relation == "group" else -1)
            return Asked(view_of(model, values), env, policy.conditions)

        return any(
            enforce_raw(enforcer, sub, model, action, *records[r], asked(r)) for r in relations
        )
    roles = enforcer.get_named_role_manager("g").get_roles(sub)
    held = any(enforcer.has_named_policy("p", role, model, action, scope, "") for role in roles)
    reaches = {
        "all": True,
        "own": case.record in (None, "owner"),
        "group": case.record in (None, "group"),
    }
    return held and reaches[scope]


def view_of(model: str, attributes: dict[str, Any]) -> View:
    """A record of `model` with these attributes, as conditions read it: related records by
    dotted names, a to-many relation's rows as a list of tables; any relation not given is
    a null key (a to-one) or no rows (a to-many)."""
    entity = catalog().entities.get(model)
    if entity is None:  # a permission model beside the tables (the audit log's)
        return View(model, dict(attributes))
    own: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    manys: dict[str, list[View]] = {name: [] for name in entity.manys}
    for name, value in attributes.items():
        head, _, rest = name.partition(".")
        if rest and head in entity.ones:
            nested.setdefault(head, {})[rest] = value
        elif head in entity.manys and isinstance(value, list):
            many = entity.manys[head].model
            manys[head] = [view_of(many, row) for row in value if isinstance(row, dict)]
        else:
            own[name] = value
    ones: dict[str, View | None] = {name: None for name in entity.ones}
    for name, values in nested.items():
        ones[name] = view_of(entity.ones[name].model, values)
    return View(model, own, ones, manys)
