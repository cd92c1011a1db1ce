"""`make bench`: the service under load next to its baselines, with every ratio against its goal.

Usage: python scripts/bench.py [--quick] [--rounds N] [--seconds S] [--server URL] [--peer URL]

Builds (or reuses) PostgreSQL databases of 1,000,000 and 10,000 tasks (`bench_data.py`),
starts the app with production settings (1 worker on each database, 2 workers on the
large one) and the baselines of `bench_floor.py` (a bare JSON route; the same ORM read with
no auth; the stack's floor; the least FastAPI and a session do for that read), then
drives `wrk -t2 -c16` on loopback, case after case, over interleaved rounds.
Prints, per case, the median req/s, p50 and p99, the app's CPU per request, SQL statements
per request (counted in-process, BEGIN and COMMIT included), non-2xx answers, socket errors
and the load average; then each goal with its ratio. `--peer` names a running
Flask-AppBuilder peer (set up outside the project, never a dependency) to compare with.
"""

import asyncio
import os
import secrets
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import app_environment, bench_arguments, build
from bench_goals import login_flood, propagation, rss_mb, sign_in
from bench_load import serving, settle, tree_cpu, wrk

from app.core.config import with_driver

DEMO_TASK = 1000  # demo owns tasks 1..1000
READ = f"/api/v1/tasks/{DEMO_TASK}"  # an authorized read, as demo
LIST = "/api/v1/tasks?limit=50"


@dataclass
class Case:
    name: str
    server: str  # key of SERVERS, or "peer"
    path: str
    who: str = "demo"  # "demo", "admin" or "" (no credentials)
    html: bool = False
    runs: list[dict[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs) if self.runs else float("nan")


def cases(peer: bool) -> list[Case]:
    found = [
        Case("read as owner", "app", READ),
        Case("read, no auth (floor)", "floor", f"/tasks/{DEMO_TASK}", who=""),
        Case("read, stack floor (Starlette)", "floor", f"/floor/tasks/{DEMO_TASK}", who=""),
        Case("read, FastAPI + session (floor)", "floor", f"/stack/tasks/{DEMO_TASK}", who=""),
        Case("bare JSON route", "floor", "/bare", who=""),
        Case("read as owner, 2 workers", "app2", READ),
        Case("list demo 1M", "app", "/api/v1/tasks?limit=50"),
        Case("list demo 10k", "app10k", "/api/v1/tasks?limit=50"),
        Case("list admin 1M", "app", "/api/v1/tasks?limit=50", who="admin"),
        Case("list admin 10k", "app10k", "/api/v1/tasks?limit=50", who="admin"),
        Case("admin 1M offset 10000", "app", f"{LIST}&offset=10000", "admin"),
        Case(
            "admin 1M sort=-created_at", "app", "/api/v1/tasks?limit=50&sort=-created_at", "admin"
        ),
        Case("admin 1M q=kilo", "app", "/api/v1/tasks?limit=50&q=kilo", who="admin"),
        Case("HTML /tasks demo 1M", "app", "/tasks", html=True),
        Case("HTML /dashboard demo 1M", "app", "/dashboard", html=True),
    ]
    if peer:
        found += [
            Case("peer read (FAB)", "peer", "/api/v1/task/1000"),
            Case("peer list (FAB)", "peer", "/api/v1/task/?q=(page:0,page_size:50)"),
        ]
    return found


def peer_token(base: str) -> dict[str, str]:
    body = {"username": "reader", "password": "readerpass", "provider": "db"}
    response = httpx.post(f"{base}/api/v1/security/login", json=body)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def statements(url: str, secret: str, found: list[Case]) -> dict[str, float]:
    """Count SQL statements per request of each app case, in-process on database `url`."""
    os.environ.update(app_environment(url) | {"SECRET_KEY": secret})
    from sqlalchemy import event

    from app.core.config import Settings
    from app.main import create_app

    app = create_app(Settings())
    count = 0

    def seen(connection: Any, *_: object) -> None:
        nonlocal count
        count += 1

    def transaction(connection: Any, *_: object) -> None:
        # In autocommit mode (reads) SQLAlchemy still reports BEGIN and COMMIT, but the
        # driver sends neither.
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            seen(connection)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    for name in ("begin", "commit", "rollback"):
        event.listen(engine, name, transaction)
    counts: dict[str, float] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            cookies = {}
            for who, password in (("demo", "demo123"), ("admin", "admin123")):
                body = {"username": who, "password": password}
                response = await client.post("/api/v1/auth/login", json=body)
                cookies[who] = {"session_id": response.cookies["session_id"]}
                client.cookies.clear()
            for case in found:
                if case.server not in ("app", "app2"):
                    continue
                client.cookies = httpx.Cookies(cookies[case.who])
                await client.get(case.path)
                count = 0
                for _ in range(3):
                    await client.get(case.path)
                counts[case.name] = count / 3
    return counts


FAST = "read, FastAPI + session (floor)"
GOALS = [
    ("1 authorized read / no-auth ORM read", "read as owner", "read, no auth (floor)", 0.75),
    (
        "1 authorized read / the stack's floor",
        "read as owner",
        "read, stack floor (Starlette)",
        0.5,
    ),
    ("2 list 1M / 10k, as demo", "list demo 1M", "list demo 10k", 0.8),
    ("2 list 1M / 10k, as admin", "list admin 1M", "list admin 10k", 0.8),
    ("2 deep page / page one (admin 1M)", "admin 1M offset 10000", "list admin 1M", 0.5),
    ("2 sorted page / plain page (admin 1M)", "admin 1M sort=-created_at", "list admin 1M", 0.5),
    ("2 searched page / plain page (admin 1M)", "admin 1M q=kilo", "list admin 1M", 0.5),
    ("3 authorized read / Flask-AppBuilder", "read as owner", "peer read (FAB)", 6.0),
    ("3 owner-filtered list / Flask-AppBuilder", "list demo 1M", "peer list (FAB)", 6.0),
    ("4 HTML /tasks / JSON list (demo 1M)", "HTML /tasks demo 1M", "list demo 1M", 0.7),
    ("5 2 workers / 1 worker (read)", "read as owner, 2 workers", "read as owner", 1.4),
]

# Beside the goals: how far the app's own stack gets on the same read before the app does
# anything of its own (`/stack/tasks/{id}` of `bench_floor.py`).
CONTEXT = [
    ("  FastAPI + session read / the stack's floor", FAST, "read, stack floor (Starlette)"),
    ("  authorized read / FastAPI + session read", "read as owner", FAST),
]


def report(
    found: list[Case],
    sql: dict[str, float],
    cards: int,
    policy: dict[str, float] | None = None,
    flood: dict[str, float] | None = None,
    rss: float = 0.0,
) -> None:
    print(
        f"\n{'case':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>7} "
        f"{'SQL':>5} {'non2xx':>6} {'sock':>5} {'load':>5}"
    )
    for case in found:
        print(
            f"{case.name:34} {case.median('rps'):8.1f} {case.median('p50'):8.2f} "
            f"{case.median('p99'):8.2f} {case.median('cpu'):7.2f} "
            f"{sql.get(case.name, float('nan')):5.1f} "
            f"{sum(r['non2xx'] for r in case.runs):6.0f} "
            f"{sum(r['socket'] for r in case.runs):5.0f} {case.median('load'):5.2f}"
        )
    by_name = {case.name: case for case in found}
    print("\ngoal                                           ratio   goal  result")
    for label, top, bottom, goal in GOALS:
        if top not in by_name or bottom not in by_name:
            print(f"{label:46} {'-':>6} {goal:5.2f}x  not measured (no --peer)")
            continue
        ratio = by_name[top].median("rps") / by_name[bottom].median("rps")
        print(f"{label:46} {ratio:6.2f} {goal:5.2f}x  {'met' if ratio >= goal else 'MISSED'}")
    for label, top, bottom in CONTEXT:
        if top in by_name and bottom in by_name:
            ratio = by_name[top].median("rps") / by_name[bottom].median("rps")
            print(f"{label:46} {ratio:6.2f}         (no goal)")
    dashboard = sql.get("HTML /dashboard demo 1M", float("nan"))
    verdict = "met" if dashboard <= 2 + cards else "MISSED"
    print(f"{'4 /dashboard statements (demo)':46} {dashboard:6.0f} {2 + cards:5d}   {verdict}")
    errors = sum(r["non2xx"] + r["socket"] for case in found for r in case.runs)
    print(
        f"{'5 non-2xx answers and socket errors':46} {errors:6.0f} {0:5d}   "
        f"{'met' if errors == 0 else 'MISSED'}"
    )
    if policy:
        for label, value, goal in (
            ("6 policy change reaches every worker (p99 s)", policy["p99 s"], 1.0),
            ("6 first request after a change / warm", policy["first/warm"], 2.0),
        ):
            print(f"{label:46} {value:6.2f} {goal:5.2f}   {'met' if value <= goal else 'MISSED'}")
        print(
            f"  p99 ms: first reads after a change {policy['first p99 ms']:.2f}, "
            f"warm reads {policy['warm p99 ms']:.2f}"
        )
    if flood:
        print(
            "  login flood p50 ms: "
            + ", ".join(f"{k} {v:.2f}" for k, v in flood.items() if k.endswith(" ms"))
        )
        for what in ("healthz", "read"):
            value = flood[f"{what} ratio"]
            label = f"7 login flood: {what} p50 / idle p50"
            print(f"{label:46} {value:6.2f} {3.0:5.2f}x  {'met' if value <= 3 else 'MISSED'}")
    if rss:
        print(
            f"{'memory: 1 worker RSS after the run (MB)':46} {rss:6.0f} {150:5d}   "
            f"{'met' if rss < 150 else 'MISSED'}"
        )


def main() -> None:
    parser = bench_arguments(__doc__.splitlines()[0], "3 s per case, 2 rounds")
    parser.add_argument("--peer", help="base URL of the Flask-AppBuilder peer, if running")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 3)
    seconds = args.seconds or (3 if args.quick else 10)
    secret = secrets.token_urlsafe(48)
    big = build(args.server, "crud_bench_1m", 1_000_000, secret)
    small = build(args.server, "crud_bench_10k", 10_000, secret)
    found = cases(bool(args.peer))
    sql = asyncio.run(statements(big, secret, found))
    with (
        serving("app.main:app", big, secret) as app,
        serving("app.main:app", small, secret) as app10k,
        serving("app.main:app", big, secret, workers=2) as app2,
        serving("scripts.bench_floor:app", big, secret, health="/bare") as floor,
    ):
        servers = {"app": app, "app10k": app10k, "app2": app2, "floor": floor}
        if args.peer:
            servers["peer"] = (args.peer.rstrip("/"), 0)
        credentials = {
            (key, who): sign_in(base, who, f"{who}123")
            for key, (base, _) in servers.items()
            if key != "peer" and key != "floor"
            for who in ("demo", "admin")
        }
        if args.peer:
            credentials["peer", "demo"] = peer_token(servers["peer"][0])
        shown = httpx.get(f"{app[0]}/dashboard", headers=credentials["app", "demo"]).text
        cards = shown.count('<li class="card">')
        database = create_engine(with_driver(args.server, asynchronous=False))
        print(f"{len(found)} cases x {rounds} rounds x {seconds} s, wrk -t2 -c16")
        for number in range(1, rounds + 1):
            for case in found:
                base, pid = servers[case.server]
                headers = dict(credentials.get((case.server, case.who), {}))
                if case.html:
                    headers["Accept"] = "text/html"
                settle(pid, database)
                before = tree_cpu(pid) if pid else 0.0
                run = wrk(base + case.path, headers, seconds)
                settle(pid, database)
                used = tree_cpu(pid) - before if pid else float("nan")
                run["cpu"] = 1000 * used / max(run["requests"], 1)
                run["load"] = os.getloadavg()[0]
                case.runs.append(run)
                print(f"  round {number}: {case.name:34} {run['rps']:8.1f} req/s", flush=True)
        database.dispose()
        with serving("app.main:app", big, secret) as (other, _):
            print("policy changes: 20 through one instance, watched on two others", flush=True)
            policy = propagation(app[0], [other, app2[0]], 20, READ)
        print("login flood: 8 connections of wrong passwords", flush=True)
        flood = login_flood(app[0], seconds, READ)
        # The logins still queued behind the hashing thread hold 64 MiB each: measure the
        # worker once it is idle again.
        database = create_engine(with_driver(args.server, asynchronous=False))
        settle(app[1], database)
        database.dispose()
        rss = rss_mb(app[1])
    report(found, sql, cards, policy, flood, rss)


if __name__ == "__main__":
    main()
