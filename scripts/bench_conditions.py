"""Conditions at scale: a conditioned grant beside the same grant without one, from outside
and in-process.

Usage: python scripts/bench_conditions.py [--quick] [--rounds N] [--server URL] [--explain]

A fresh database `crud_bench_conditions` seeded by `init_db`, given by SQL 1,000,000 tasks
(100,000 with --quick) over 2,000 projects (40% `active`; tasks 40% done, 30% todo, 20%
in_progress, 10% blocked) and a comment for every fifth task, then analysed. Two users
identical but for their role, made through the API as admin: A holds `task:read:all[live]`
(`record.status != "done" and record.project.status == "active"`) and
`comment:read:all[visible]` (`can("read", record.task)`), B the same grants unconditioned.
Served (1 worker, production settings), A and B are timed request by request in interleaved
rounds over keep-alive clients: the task list (its default page and total), a read of a task
both may read, and the comment list. Speed ratios are B's median time over A's (1.0x: as
fast). Then in-process, without a database: microseconds per `Access.allows` on a prepared
view, conditioned (A) and not (B), cached and with the user's cached answers dropped before
each, and plain `PolicyEngine.allows`. Last, where the time goes: what PostgreSQL spends on
each list's statement as the app builds it for A and B (EXPLAIN ANALYZE; `--explain` prints
the plans) and what `Access.decides` costs on a stored task (A's loads its project). Figures
come with the load average, then a table with the goals; exit status 0 either way (a
report). The database is dropped at the end.
"""

import asyncio
import gc
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import bench_arguments, progress
from bench_load import serving
from bench_org import database_url, engine_for, recreate
from bench_policy_scale import (
    api_client,
    check,
    load,
    permission_ids,
    run_app_module,
    say,
    timed,
)

DATABASE = "crud_bench_conditions"
APP = "app.main:app"
PROJECTS, ACTIVE_SHARE = 2_000, 0.4
COMMENT_EVERY = 5  # one comment per this many tasks
CHUNK = 200_000
SEED = 0.20261206  # setseed(): the same rows at every run
LIVE = 'record.status != "done" and record.project.status == "active"'
VISIBLE = 'can("read", record.task)'
PASSWORD = "bench-conditions-2026"
READ_IDS = 300  # tasks both users may read, read in turn


def fill(url: str, tasks: int) -> None:
    """Write the projects, tasks and comments in SQL, like a restore: the tables' indexes
    dropped first and built after, foreign-key triggers off (the rows are consistent by
    construction); then VACUUM ANALYZE."""
    comments = tasks // COMMENT_EVERY
    engine = engine_for(url)
    with engine.begin() as connection:

        def run(sql: str, **values: object) -> Any:
            return connection.execute(text(sql), values)

        run("SET LOCAL session_replication_role = replica")
        run("SET LOCAL maintenance_work_mem = '256MB'")
        admin = run("SELECT id FROM users WHERE username = 'admin'").scalar_one()
        indexes = drop_indexes(connection, ("tasks", "comments"))
        run("SELECT setseed(:seed)", seed=SEED)
        run(
            """INSERT INTO projects (name, status, owner_user_id)
            SELECT 'Project ' || g,
                   CASE WHEN random() < :active THEN 'active'
                        ELSE (ARRAY['planned', 'on_hold', 'completed', 'cancelled'])[1 + g % 4]
                   END,
                   :admin
            FROM generate_series(1, :n) g""",
            active=ACTIVE_SHARE,
            admin=admin,
            n=PROJECTS,
        )
        first_project = run("SELECT min(id) FROM projects").scalar_one()
        for start in range(1, tasks + 1, CHUNK):
            stop = min(start + CHUNK - 1, tasks)
            run(
                """INSERT INTO tasks (project_id, title, status, priority, owner_user_id,
                                      created_at, updated_at)
                SELECT :first_project + floor(random() * :projects)::int,
                       'task ' || g,
                       CASE WHEN r < 0.4 THEN 'done' WHEN r < 0.7 THEN 'todo'
                            WHEN r < 0.9 THEN 'in_progress' ELSE 'blocked' END,
                       1 + g % 5,
                       :admin,
                       now() - make_interval(secs => g * 30),
                       now() - make_interval(secs => g * 30)
                FROM (SELECT g, random() AS r
                      FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) g) s""",
                first_project=first_project,
                projects=PROJECTS,
                admin=admin,
                start=start,
                stop=stop,
            )
            progress("tasks", stop, tasks)
        first_task = run("SELECT min(id) FROM tasks").scalar_one()
        run(
            """INSERT INTO comments (task_id, body, owner_user_id, created_at, updated_at)
            SELECT :first_task + floor(random() * :tasks)::int, 'comment ' || g, :admin,
                   now() - make_interval(secs => g * 150), now() - make_interval(secs => g * 150)
            FROM generate_series(1, :n) g""",
            first_task=first_task,
            tasks=tasks,
            admin=admin,
            n=comments,
        )
        print(f"  {comments:,} comments; building {len(indexes)} indexes")
        for definition in indexes:
            run(definition)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def drop_indexes(connection: Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the indexes of `tables` that back no constraint; return their definitions."""
    found = connection.execute(
        text(
            """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(CAST(:tables AS regclass[]))
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""
        ),
        {"tables": list(tables)},
    ).all()
    for name, _ in found:
        connection.execute(text(f"DROP INDEX {name}"))
    return [definition for _, definition in found]


@dataclass
class Users:
    """The two users and what the setup learnt about them."""

    ids: dict[str, int]  # "A", "B" -> user id
    clients: dict[str, httpx.Client] = field(default_factory=dict)


def make_users(base: str) -> Users:
    """As admin, create the conditions, the conditioned grants, a role each, and A and B."""
    with closing(api_client(base, "admin", "admin123")) as admin:

        def post(path: str, body: dict[str, Any]) -> int:
            return int(check(admin.post(f"/api/v1/{path}", json=body)).json()["id"])

        live = post("conditions", {"name": "live", "model": "task", "expression": LIVE})
        visible = post("conditions", {"name": "visible", "model": "comment", "expression": VISIBLE})
        grant = {"action": "read", "scope": "all"}
        conditioned = [
            post("permissions", grant | {"model": "task", "condition_id": live}),
            post("permissions", grant | {"model": "comment", "condition_id": visible}),
        ]
        named = permission_ids(admin)
        plain = [named["task:read:all"], named["comment:read:all"]]
        ids = {}
        for who, grants in (("A", conditioned), ("B", plain)):
            role = post("roles", {"name": f"bench-{who.lower()}", "permission_ids": grants})
            username = f"bench_{who.lower()}"
            ids[who] = post(
                "users",
                {
                    "username": username,
                    "email": f"{username}@example.com",
                    "password": PASSWORD,
                    "role_ids": [role],
                },
            )
            held = check(admin.get(f"/api/v1/users/{ids[who]}")).json()
            say(f"user {who} ({username}, id {ids[who]}): role {held.get('roles')}")
    users = Users(ids)
    for who in ids:
        users.clients[who] = api_client(base, f"bench_{who.lower()}", PASSWORD)
    return users


def readable_ids(url: str, count: int) -> tuple[list[int], int]:
    """`count` random tasks both users may read (not done, in an active project), and one
    only B may read (done)."""
    engine = engine_for(url)
    with engine.connect() as connection:
        ids = connection.execute(
            text(
                """SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id
                WHERE t.status <> 'done' AND p.status = 'active'
                ORDER BY random() LIMIT :n"""
            ),
            {"n": count},
        ).scalars()
        ids = list(ids)
        done = connection.execute(text("SELECT min(id) FROM tasks WHERE status = 'done'"))
        done_id = done.scalar_one()
    engine.dispose()
    return ids, done_id


def sanity(users: Users, read_id: int, done_id: int) -> None:
    """Stop unless the conditions are in force: A sees only live tasks, B every one."""
    a, b = users.clients["A"], users.clients["B"]
    check(a.get(f"/api/v1/tasks/{read_id}"))
    check(b.get(f"/api/v1/tasks/{done_id}"))
    refused = a.get(f"/api/v1/tasks/{done_id}")
    if refused.status_code != 404:
        raise SystemExit(f"A read a done task: {refused.status_code} {refused.text[:300]}")
    page = check(a.get("/api/v1/tasks")).json()
    statuses = {item["status"] for item in page["items"]}
    if not page["items"] or "done" in statuses:
        raise SystemExit(f"A's task list is wrong: {len(page['items'])} items, {statuses}")
    for who, client in users.clients.items():
        tasks = check(client.get("/api/v1/tasks")).json()
        comments = check(client.get("/api/v1/comments")).json()
        say(
            f"{who}: tasks page {len(tasks['items'])}, total {tasks['total']}"
            f"{'' if tasks['total_exact'] else '+'}; comments page {len(comments['items'])},"
            f" total {comments['total']}{'' if comments['total_exact'] else '+'}"
        )


FIGURES = {
    "list": "GET /api/v1/tasks",
    "read": "GET /api/v1/tasks/{id}",
    "comments": "GET /api/v1/comments",
}


def measure(users: Users, ids: list[int], rounds: int, lists: int, reads: int) -> dict:
    """Time A and B request by request, in rounds; return every sample by figure and user."""
    samples: dict[str, dict[str, list[float]]] = {k: {"A": [], "B": []} for k in FIGURES}
    clients = users.clients
    for who in clients:  # build each shape's statements, fill the decision caches
        for path in ("/api/v1/tasks", "/api/v1/comments", *(f"/api/v1/tasks/{i}" for i in ids)):
            check(clients[who].get(path))
    cursor = 0
    for number in range(1, rounds + 1):
        for key in FIGURES:
            if key == "read":
                paths = [f"/api/v1/tasks/{ids[(cursor + n) % len(ids)]}" for n in range(reads)]
                cursor += reads
            else:
                paths = [f"/api/v1/{'tasks' if key == 'list' else 'comments'}"] * lists
            got: dict[str, list[float]] = {"A": [], "B": []}
            for n, path in enumerate(paths):
                # Alternate who goes first, so neither always follows the other.
                for who in ("A", "B") if (n + number) % 2 else ("B", "A"):
                    got[who].append(timed(clients[who], "GET", path))
            for who in got:
                samples[key][who].extend(got[who])
            a, b = statistics.median(got["A"]), statistics.median(got["B"])
            say(
                f"round {number}: {FIGURES[key]:24} A {a:7.2f} ms  B {b:7.2f} ms"
                f"  speed {b / a:5.2f}x  ({len(paths)} each)"
            )
    return samples


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


def report(samples: dict, decisions: dict, sql: dict, deciding: dict, tasks: int) -> None:
    """Print the table: each figure, its value, its goal, met or not; then where time goes."""
    goals = {"list": 0.8, "read": 0.9, "comments": 0.5}
    names = {
        "list": "conditioned list speed",
        "read": "conditioned read speed",
        "comments": "conditioned comment list speed",
    }
    print(f"{tasks:,} tasks, {tasks // COMMENT_EVERY:,} comments; speed = B time / A time")
    print(f"{'figure':50} {'value':>30}   {'goal':9} verdict")

    def row(label: str, value: str, goal: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else "met" if met else "NOT MET"
        print(f"{label:50} {value:>30}   {goal:9} {verdict}".rstrip())

    for key, goal in goals.items():
        a, b = (statistics.median(samples[key][who]) for who in ("A", "B"))
        value = f"{b / a:.2f}x (A {a:.2f}, B {b:.2f} ms)"
        row(f"{names[key]} ({FIGURES[key]})", value, f">= {goal}x", b / a >= goal)
    cached = decisions["A conditioned, cached"]
    row("conditioned decision in memory (cached)", f"{cached:.2f} us", "<= 20 us", cached <= 20)
    for label, value in decisions.items():
        if label != "A conditioned, cached":
            row(f"  {label}", f"{value:.2f} us")
    print("where the time goes (no goals):")
    for path in ("tasks", "comments"):
        a, b = sql[(path, "A")], sql[(path, "B")]
        row(f"  SQL executing, GET /api/v1/{path}", f"A {a:.2f}, B {b:.2f} ms")
    a, b = deciding["A"], deciding["B"]
    row("  Access.decides on a stored task", f"A {a:.3f}, B {b:.3f} ms")


def main() -> None:
    parser = bench_arguments(__doc__.splitlines()[0], "100,000 tasks and fewer rounds")
    parser.add_argument("--explain", action="store_true", help="print the lists' plans")
    args = parser.parse_args()
    tasks = 100_000 if args.quick else 1_000_000
    rounds = args.rounds or (3 if args.quick else 7)
    lists, reads = (10, 30) if args.quick else (30, 90)
    secret = secrets.token_urlsafe(48)
    started = time.monotonic()
    say(f"start: {tasks:,} tasks, {rounds} rounds")
    try:
        recreate(args.server, [DATABASE])
        url = database_url(args.server, DATABASE)
        seconds, _ = run_app_module(url, secret, "app.init_db")
        say(f"init_db {seconds:.1f} s")
        began = time.perf_counter()
        fill(url, tasks)
        say(f"rows written in SQL, indexed and analysed in {time.perf_counter() - began:.1f} s")
        ids, done_id = readable_ids(url, READ_IDS)
        with ExitStack() as stack:
            base, _ = stack.enter_context(serving(APP, url, secret))
            users = make_users(base)
            for client in users.clients.values():
                stack.callback(client.close)
            sanity(users, ids[0], done_id)
            print(f"{rounds} rounds of {lists} lists, {reads} reads, {lists} comment lists each")
            samples = measure(users, ids, rounds, lists, reads)
        policy = load_policy_of(url, secret)
        decisions = in_process(url, policy, users.ids, ids[0], args.quick)
        sql = list_sql(url, policy, users.ids, args.explain)
        deciding = decides_ms(url, policy, users.ids, ids[:100])
        print()
        report(samples, decisions, sql, deciding, tasks)
    finally:
        recreate(args.server, [DATABASE], create=False)
    print(f"\n({time.monotonic() - started:.0f} s in all; 1-minute load average now {load():.2f})")


if __name__ == "__main__":
    main()
