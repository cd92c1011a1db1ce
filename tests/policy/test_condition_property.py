"""The list filter equals the decision under random conditions: Hypothesis writes random
well-typed conditions over tasks (columns and NULLs, one and two hops, lists, `any()` over
tags and comments, `can()` on the project, the subject and the clock, and/or/not nested),
and for each, over a random population with NULLs (and tasks of a missing project), the
rows the compiled SQL selects must be exactly those the per-record decision (the condition
evaluated in Python inside Casbin's matcher) allows."""

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.core.callers import Caller
from app.core.conditions.checker import check_condition
from app.core.decisions import row_filter
from app.core.enforcer import load_policy
from app.models import Condition, Task
from app.resources import REGISTRY
from app.services.access import Access
from tests.conftest import Backend
from tests.policy.conformance import Case, _sync, seed
from tests.policy.population import open_db, run
from tests.support import database

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
STATUSES = ["todo", "in_progress", "blocked", "done"]
# A value of a column, as a literal or a value the request gives (kind -> choices).
LITERALS = {
    "string": ['"todo"', '"done"', '"x"', '"X"', '""', '"active"', '"Acme"'],
    "integer": ["1", "3", "5", "subject.id"],
    "decimal": ["0", "1.50", "2", "100.00"],
    "time": ['"2026-01-15T12:00:00Z"', '"2026-01-15T13:00:00+01:00"', "now"],
    "date": ['"2026-01-01"', "today"],
    "boolean": ["true", "false"],
}
COLUMNS = [
    ("record.status", "string"),
    ("record.description", "string"),
    ("record.priority", "integer"),
    ("record.assignee_id", "integer"),
    ("record.owner_group_id", "integer"),
    ("record.estimate_hours", "decimal"),
    ("record.due_at", "time"),
    ("record.project.status", "string"),
    ("record.project.budget", "decimal"),
    ("record.project.is_billable", "boolean"),
    ("record.project.start_date", "date"),
    ("record.project.customer.name", "string"),
    ("record.project.customer.is_active", "boolean"),
]
ORDERED = {"string", "integer", "decimal", "time", "date"}


@st.composite
def leaves(draw: Any) -> str:
    """One test of a condition over a task."""
    kind = draw(st.sampled_from(["compare"] * 5 + ["null", "in", "any", "can"]))
    if kind == "any":
        relation, column = draw(st.sampled_from([("tags", "it.name"), ("comments", "it.body")]))
        value = draw(st.sampled_from(['"x"', '"urgent"', '"X"', '"ok"']))
        op = draw(st.sampled_from(["==", "!="]))
        return f"any(record.{relation}, {column} {op} {value})"
    if kind == "can":
        return 'can("read", record.project)'
    path, column_kind = draw(st.sampled_from(COLUMNS))
    if kind == "null":
        return f"{path} is {draw(st.sampled_from(['null', 'not null']))}"
    if kind == "in":
        if column_kind == "integer" and draw(st.booleans()):
            return f"{path} {draw(st.sampled_from(['in', 'not in']))} subject.groups"
        items = draw(st.lists(st.sampled_from([*LITERALS[column_kind], "null"]), min_size=1))
        items = [item for item in items if item not in ("subject.id", "now", "today")] or ["null"]
        return f"{path} {draw(st.sampled_from(['in', 'not in']))} [{', '.join(items)}]"
    ops = ["==", "!=", "<", "<=", ">", ">="] if column_kind in ORDERED else ["==", "!="]
    return f"{path} {draw(st.sampled_from(ops))} {draw(st.sampled_from(LITERALS[column_kind]))}"


def expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        leaves(),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"not {e}" if e.startswith("(") else f"not ({e})"),
        ),
        max_leaves=5,
    )


def population(rng: random.Random) -> dict[str, dict[str, dict[str, Any]]]:
    """Customers, projects, tags, tasks and comments, with NULLs and an orphan or two."""

    def maybe(value: Any, none: float = 0.3) -> Any:
        return None if rng.random() < none else value

    rows: dict[str, dict[str, dict[str, Any]]] = {
        "customers": {
            f"c{i}": {"name": rng.choice(["Acme", "acme", "x"]), "is_active": rng.random() < 0.6}
            for i in range(3)
        },
        "tags": {"t0": {"name": "x"}, "t1": {"name": "urgent"}, "t2": {"name": "X"}},
    }
    rows["projects"] = {
        f"p{i}": {
            "status": rng.choice(["active", "planned", "completed"]),
            "customer": maybe(f"c{rng.randrange(3)}") or "none",
            "budget": maybe(rng.choice(["0", "1.50", "100.00", "250.75"])),
            "is_billable": rng.random() < 0.5,
            "start_date": maybe(rng.choice(["2025-12-31", "2026-01-01", "2026-01-15"])),
            "owner": rng.choice(["me", "other", "none"]),
        }
        for i in range(5)
    }
    rows["tasks"] = {}
    for i in range(36):
        task = {
            "project": "missing" if i % 17 == 16 else f"p{rng.randrange(5)}",
            "status": rng.choice(STATUSES),
            "description": maybe(rng.choice(["x", "X", "", "y"])),
            "priority": rng.randint(1, 5),
            "assignee": maybe(rng.choice(["me", "other"])) or "none",
            "estimate_hours": maybe(rng.choice(["0", "1.50", "2", "2.00", "8.25"])),
            "due_at": maybe(
                rng.choice(["2026-01-15T11:59:59Z", "2026-01-15T12:00:00Z", "2026-01-16T00:00:00Z"])
            ),
            "group": rng.choice(["team", "outside", "none"]),
            "tags": rng.sample(["t0", "t1", "t2"], rng.randint(0, 2)),
        }
        rows["tasks"][f"k{i}"] = {k: v for k, v in task.items() if v is not None}
    rows["comments"] = {
        f"m{i}": {"task": f"k{rng.randrange(36)}", "body": rng.choice(["ok", "x", "X"])}
        for i in range(20)
    }
    return rows


def test_random_conditions_filter_equals_decision(live: Backend) -> None:
    rows = population(random.Random(20261206))
    case = Case(
        name="property",
        source="",
        model="task",
        grants=["task:read:all[c]", "project:read:own"],
        rows=rows,
        conditions={"c": "record.id > 0"},
        groups=["team"],
    )
    seeded = seed(live.settings, case)
    engine = database._engine(live.settings)
    caller = Caller(seeded.subject, "subject", None, True)
    res = REGISTRY["tasks"]
    outcomes: Counter[str] = Counter()

    async def compare(expression: str) -> None:
        policy = await load_policy(live.settings)
        access = Access(caller, policy, now=NOW)
        where = row_filter(
            policy, seeded.subject, "task", "read", Task, username="subject", now=NOW
        )
        async with open_db(live.settings) as sessions, sessions() as session:
            stored = list((await session.execute(select(Task).order_by(Task.id))).scalars())
            filtered = set(
                await session.scalars(select(Task.id).where(where if where is not None else True))
            )
            decided = {row.id for row in stored if await access.decides(session, res, "read", row)}
        assert filtered == decided, (
            f"{expression}: SQL only {sorted(filtered - decided)}, "
            f"decision only {sorted(decided - filtered)}"
        )
        outcomes["none" if not decided else "all" if len(decided) == len(stored) else "some"] += 1

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(expressions())
    def check(expression: str) -> None:
        check_condition("task", expression)  # the generator writes well-typed conditions only
        with engine.begin() as connection:
            connection.execute(
                update(Condition).where(Condition.name == "c").values(expression=expression)
            )
        run(_sync(live.settings))
        run(compare(expression))

    check()
    # The conditions told rows apart: most kept some rows and dropped others.
    assert outcomes["some"] >= 20, outcomes
