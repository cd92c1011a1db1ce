"""The in-process half of `bench_conditions.py`: what one decision costs in memory (`Access.allows`
on a prepared view, conditioned and not, cached and cold), what PostgreSQL spends on each
list's statement as the app builds it, and what `Access.decides` costs on a stored task."""

import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_org import engine_for
from bench_policy_scale import say


def per_call(
    fn: Callable[[], object], count: int, runs: int, before: Callable[[], object]
) -> float:
    """Median microseconds per `fn()` over `runs` runs of `count` calls (gc off, as timeit);
    `before` runs ahead of each call and its own cost is taken off."""
    medians = []
    for _ in range(runs):
        gc.disable()
        try:
            started = time.perf_counter()
            for _ in range(count):
                before()
                fn()
            spent = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(count):
                before()
            spent -= time.perf_counter() - started
        finally:
            gc.enable()
        medians.append(spent / count * 1e6)
    return statistics.median(medians)


def load_policy_of(url: str, secret: str) -> Any:
    """The stored policy, loaded as the CLI loads it: a `PolicyEngine`."""
    import app.resources  # noqa: F401  (installs the conditions' catalog, as the CLI's imports do)
    from app.core.config import Settings
    from app.core.enforcer import load_policy

    settings = Settings(database_url=url, environment="production", secret_key=secret)
    return asyncio.run(load_policy(settings))


def access_of(policy: Any, ids: dict[str, int]) -> dict[str, Any]:
    """An `Access` per user, as a request builds it (the request's time: now)."""
    from app.core.callers import Caller
    from app.services.access import Access

    now = datetime.now(UTC)
    return {
        who: Access(Caller(user_id, f"bench_{who.lower()}", None, True), policy, now=now)
        for who, user_id in ids.items()
    }


def in_process(url: str, policy: Any, ids: dict[str, int], task_id: int, quick: bool) -> dict:
    """Microseconds per in-memory decision on a view prepared in advance (no database):
    conditioned (A) and not (B), cached and cold (the user's cached answers dropped before
    each, their cost taken off), and plain `PolicyEngine.allows`."""
    from app.core.conditions.evaluate import View
    from app.core.enforcer import user_sub

    engine = engine_for(url)
    with engine.connect() as connection:
        task = connection.execute(text("SELECT * FROM tasks WHERE id = :i"), {"i": task_id})
        task_row = dict(task.one()._mapping)
        project = connection.execute(
            text("SELECT * FROM projects WHERE id = :i"), {"i": task_row["project_id"]}
        )
        project_row = dict(project.one()._mapping)
        comment = connection.execute(text("SELECT * FROM comments LIMIT 1")).one()
    engine.dispose()
    view = View("task", task_row, ones={"project": View("project", project_row)})
    done = View("task", task_row | {"status": "done"}, ones=view.ones)
    on_comment = View("comment", dict(comment._mapping) | {"task_id": task_id})
    on_comment.ones["task"] = view
    access = access_of(policy, ids)
    a, b = access["A"], access["B"]
    expected = [
        (a.allows("task", "read", view), True, "A on a live task"),
        (a.allows("task", "read", done), False, "A on a done task"),
        (a.allows("comment", "read", on_comment), True, "A on a comment of a live task"),
        (b.allows("task", "read", done), True, "B on a done task"),
        (a.conditioned("task", "read"), True, "A's task:read carries a condition"),
        (b.conditioned("task", "read"), False, "B's task:read carries none"),
    ]
    for found, wanted, what in expected:
        if found is not wanted:
            raise SystemExit(f"in-process decision {what}: {found}, expected {wanted}")
    owner, group = task_row["owner_user_id"], task_row["owner_group_id"]
    count, cold, runs = (5_000, 500, 5) if quick else (20_000, 2_000, 7)

    def nothing() -> None:
        pass

    def forget(user_id: int) -> Callable[[], object]:
        return lambda: policy.cache.drop([user_sub(user_id)])

    cases: dict[str, tuple[Callable[[], object], int, Callable[[], object]]] = {
        "A conditioned, cached": (lambda: a.allows("task", "read", view), count, nothing),
        "B unconditioned, cached": (lambda: b.allows("task", "read", view), count, nothing),
        "plain policy.allows (B)": (
            lambda: policy.allows(ids["B"], "task", "read", owner, group),
            count,
            nothing,
        ),
        "A comment, can() on its task": (
            lambda: a.allows("comment", "read", on_comment),
            count,
            nothing,
        ),
        "A conditioned, cold": (lambda: a.allows("task", "read", view), cold, forget(ids["A"])),
        "B unconditioned, cold": (lambda: b.allows("task", "read", view), cold, forget(ids["B"])),
    }
    figures = {}
    for label, (fn, calls, before) in cases.items():
        figures[label] = per_call(fn, calls, runs, before)
        say(f"in-process {label:28} {figures[label]:7.2f} us  (median of {runs} x {calls:,})")
    return figures


def list_sql(url: str, policy: Any, ids: dict[str, int], explain: bool) -> dict:
    """Milliseconds PostgreSQL spends on each list's statement for A and B, built as the app
    builds it (`page_statement` with the user's `row_scope`): EXPLAIN ANALYZE's execution
    time, median of three; the plans printed with `explain`."""
    from sqlalchemy import create_engine, event

    from app.core.database import PLANNER_OPTIONS
    from app.core.lists import ListParams
    from app.resources import REGISTRY

    # Planned as the app's connections plan (`PLANNER_OPTIONS`).
    engine = create_engine(url, connect_args={"options": PLANNER_OPTIONS})

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def explained(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> Any:
        return f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters

    access = access_of(policy, ids)
    figures: dict[tuple[str, str], float] = {}
    for path in ("tasks", "comments"):
        res = REGISTRY[path]
        for who in ("A", "B"):
            scope = access[who].row_scope(res, "read")
            statement, values = res.crud.page_statement(
                scope, ListParams(), res.search_columns, plain=res.plain_reads
            )
            times, plan = [], []
            with engine.connect() as connection:
                for _ in range(3):
                    result = connection.execute(statement, values)
                    plan = [row[0] for row in result.cursor.fetchall()]
                    found = [line for line in plan if line.startswith("Execution Time")]
                    times.append(float(found[0].split()[2]))
            figures[(path, who)] = statistics.median(times)
            say(f"SQL of GET /api/v1/{path:8} {who}: {figures[(path, who)]:6.2f} ms executing")
            if explain:
                print("\n".join(f"      {line}" for line in plan))
    engine.dispose()
    return figures


def decides_ms(url: str, policy: Any, ids: dict[str, int], task_ids: list[int]) -> dict:
    """Milliseconds per `Access.decides` on a stored task, on the app's own engine: what a
    read spends deciding (for A, loading the project its condition reads, then deciding)."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.core.config import Settings
    from app.core.database import create_app_engine
    from app.resources import REGISTRY

    res, access = REGISTRY["tasks"], access_of(policy, ids)
    settings = Settings(database_url=url, environment="production", secret_key="-" * 48)

    async def timing() -> dict[str, float]:
        engine = create_app_engine(settings)
        figures: dict[str, list[float]] = {"A": [], "B": []}
        async with AsyncSession(engine) as session:
            query = text("SELECT * FROM tasks WHERE id = ANY(:ids)")
            rows = [dict(r._mapping) for r in await session.execute(query, {"ids": task_ids})]
            for number in range(6):
                for who in ("A", "B") if number % 2 else ("B", "A"):
                    started = time.perf_counter()
                    for row in rows:
                        if not await access[who].decides(session, res, "read", row):
                            raise SystemExit(f"{who} may not read task {row['id']}")
                    figures[who].append((time.perf_counter() - started) / len(rows) * 1000)
        await engine.dispose()
        return {who: statistics.median(values[1:]) for who, values in figures.items()}

    found = asyncio.run(timing())
    for who, ms in found.items():
        say(f"Access.decides on a stored task {who}: {ms:6.3f} ms")
    return found
