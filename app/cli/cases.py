"""`policy test`: expected decisions, written in a TOML file, checked against the stored
policy."""

import argparse
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import casbin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli.directory import known_model, parse_perm, transaction
from app.cli.output import CliError, emit_json
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
    held = any(enforcer.has_named_policy("p", role, model, action, scope, "") for role in roles)
    reaches = {
        "all": True,
        "own": case.record in (None, "owner"),
        "group": case.record in (None, "group"),
    }
    return held and reaches[scope]
