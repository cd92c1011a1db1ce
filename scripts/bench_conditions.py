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
fast). Then in-process (`bench_conditions_inprocess.py`), without a database: microseconds
per `Access.allows` on a prepared view, conditioned (A) and not (B), cached and with the
user's cached answers dropped before each, and plain `PolicyEngine.allows`. Last, where the
time goes: what PostgreSQL spends on each list's statement as the app builds it for A and B
(EXPLAIN ANALYZE; `--explain` prints the plans) and what `Access.decides` costs on a stored
task (A's loads its project). Figures come with the load average, then a table with the
goals; exit status 0 either way (a report). The database is dropped at the end.
"""

import secrets
import statistics
import sys
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_conditions_inprocess import decides_ms, in_process, list_sql, load_policy_of
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
