"""The Casbin policy at organisation size, from outside: the seeded one beside ~100k lines.

Usage: python scripts/bench_policy_scale.py [--quick] [--rounds N] [--server URL]

Two fresh databases seeded by `init_db`: `crud_bench_scale_seeded` as is (~105 Casbin lines)
and `crud_bench_scale_org`, given by SQL 10,000 users in 500 groups and 1,000 roles of 60
grants, three per user, which `policy sync` makes ~100k lines (timed). Each served (1 worker,
production settings), admin times in interleaved rounds a task read, the task list, the
dashboard (signed in by the login form), a PUT /roles toggling `task:read:own` on admin's
role, and the first read and dashboard after one. Then `load_enforcer` in-process, the servers'
RSS, how soon a second instance sees a change made through the first, and `policy sync`
removing the organisation. Figures come with the load average, then a table with the goals;
exit status 0 either way (a report). Both databases are dropped at the end.
"""

import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import ROOT, app_environment, bench_arguments
from bench_load import serving
from bench_org import (
    add_organisation,
    casbin_lines,
    database_url,
    engine_for,
    recreate,
    remove_organisation,
)

DATABASES = {"seeded": "crud_bench_scale_seeded", "org": "crud_bench_scale_org"}
TOGGLE = "task:read:own"  # toggled on admin's role: admin's own decisions change
PROBE = "task:read:all"  # the grant the propagation probe loses and regains
APP = "app.main:app"


def run_app_module(url: str, secret: str, *args: str) -> tuple[float, str]:
    """Run `python -m <args>` against `url`; return its seconds and last line of output."""
    env = app_environment(url) | {"SECRET_KEY": secret}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"python -m {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else ""


def load() -> float:
    return os.getloadavg()[0]


def say(line: str) -> None:
    """Print a figure with the 1-minute load average beside it."""
    print(f"  {line}  load {load():.2f}", flush=True)


def check(answer: httpx.Response) -> httpx.Response:
    """Stop the run on any answer but a 2xx, saying it exactly."""
    if not answer.is_success:
        request = answer.request
        raise SystemExit(f"{request.method} {request.url}: {answer.status_code} {answer.text}")
    return answer


def timed(client: httpx.Client, method: str, path: str, **kwargs: Any) -> float:
    """Return the milliseconds `method path` took (it must succeed)."""
    started = time.perf_counter()
    answer = client.request(method, path, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    check(answer)
    return elapsed


def api_client(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    credentials = {"username": username, "password": password}
    bearer = check(client.post("/api/v1/auth/token", json=credentials)).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {bearer}"
    return client


def browser_client(base: str) -> httpx.Client:
    """A client signed in as admin through the login form (its anonymous CSRF token)."""
    client = httpx.Client(base_url=base, timeout=30)
    form = check(client.get("/login")).text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    data = {"username": "admin", "password": "admin123", "csrf_token": token}
    signed = client.post("/login", data=data)
    if signed.status_code != 303 or "session_id" not in client.cookies:
        raise SystemExit(f"POST /login: {signed.status_code} {signed.text[:500]}")
    return client


def permission_ids(api: httpx.Client) -> dict[str, int]:
    found = check(api.get("/api/v1/permissions", params={"limit": 200})).json()
    if found["total"] != len(found["items"]):
        raise SystemExit(f"more permissions than one page: {found['total']}")
    return {item["name"]: item["id"] for item in found["items"]}


@dataclass
class Site:
    """One served database, and what the rounds measured on it."""

    label: str
    pid: int
    api: httpx.Client
    browser: httpx.Client
    task: int
    role: int  # admin's role
    toggle: int  # permission id of TOGGLE
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, values: list[float]) -> float:
        self.samples.setdefault(key, []).extend(values)
        return statistics.median(values)

    def median(self, key: str) -> float:
        return statistics.median(self.samples[key])


def open_site(label: str, base: str, pid: int) -> Site:
    """Sign admin in both ways, give the database a project and a task."""
    api = api_client(base, "admin", "admin123")
    project = check(api.post("/api/v1/projects", json={"name": "bench project"})).json()
    task = check(
        api.post("/api/v1/tasks", json={"project_id": project["id"], "title": "bench task"})
    ).json()
    role = check(api.get("/api/v1/auth/me")).json()["role_ids"][0]
    toggle = permission_ids(api)[TOGGLE]
    return Site(label, pid, api, browser_client(base), task["id"], role, toggle)


def requests_of(site: Site) -> dict[str, Callable[[], float]]:
    return {
        "read": lambda: timed(site.api, "GET", f"/api/v1/tasks/{site.task}"),
        "list": lambda: timed(site.api, "GET", "/api/v1/tasks"),
        "dashboard": lambda: timed(site.browser, "GET", "/dashboard"),
    }


def warm_round(site: Site, reads: int) -> dict[str, float]:
    """Time `reads` of each warm request (after two unmeasured); return the medians."""
    medians = {}
    for key, request in requests_of(site).items():
        for _ in range(2):
            request()
        medians[key] = site.add(key, [request() for _ in range(reads)])
    return medians


def change_round(site: Site, pairs: int) -> dict[str, float]:
    """Toggle TOGGLE on admin's role `pairs` times each way; time each PUT and the first
    task read (after the first of a pair) or dashboard (after the second) that follows."""
    follows, path = requests_of(site), f"/api/v1/roles/{site.role}"
    timings: dict[str, list[float]] = {"put": [], "first read": [], "first dashboard": []}
    for _ in range(pairs):
        for follow in ("read", "dashboard"):
            held = check(site.api.get(path)).json()["permission_ids"]
            wanted = [i for i in held if i != site.toggle]
            if len(wanted) == len(held):
                wanted.append(site.toggle)
            timings["put"].append(timed(site.api, "PUT", path, json={"permission_ids": wanted}))
            timings[f"first {follow}"].append(follows[follow]())
    return {key: site.add(key, values) for key, values in timings.items()}


def measure_rounds(sites: list[Site], rounds: int, reads: int, pairs: int) -> None:
    for number in range(1, rounds + 1):
        # Alternate which database goes first, so neither always follows the other.
        for site in sites if number % 2 else list(reversed(sites)):
            figures = warm_round(site, reads) | change_round(site, pairs)
            shown = "  ".join(f"{key} {value:6.1f}" for key, value in figures.items())
            say(f"round {number}: {site.label:6} ms: {shown}")


def tree_rss(pid: int) -> float:
    """Return the resident MB of `pid` and its descendants."""
    status = Path(f"/proc/{pid}/status").read_text()
    own = int(status.split("VmRSS:", 1)[1].split()[0]) / 1024
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(tree_rss(int(child)) for child in children)


def load_enforcer_ms(urls: dict[str, str], times: int) -> dict[str, float]:
    """Time `load_enforcer` in this process, the databases interleaved; the medians."""
    from app.core.policy_loader import load_enforcer

    engines = {label: engine_for(url) for label, url in urls.items()}
    samples: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(times):
        for label, engine in engines.items():
            started = time.perf_counter()
            enforcer = load_enforcer(engine)
            samples[label].append((time.perf_counter() - started) * 1000)
            lines = sum(len(a.policy) for s in ("p", "g") for a in enforcer.model[s].values())
            say(f"load_enforcer {label:6} {samples[label][-1]:7.0f} ms  {lines:,} lines")
    for engine in engines.values():
        engine.dispose()
    return {label: statistics.median(values) for label, values in samples.items()}


def wait_for(client: httpx.Client, path: str, allowed: bool, limit: float = 10.0) -> float:
    """Poll `path` until it answers 200 (`allowed`) or not; return the ms it took."""
    started = time.perf_counter()
    while (client.get(path).status_code == 200) != allowed:
        if time.perf_counter() - started > limit:
            return float("inf")
        time.sleep(0.005)
    return (time.perf_counter() - started) * 1000


def propagation(org: Site, url: str, secret: str, rounds: int) -> list[float]:
    """Through the org site, take PROBE from (and give it back to) a probe user's only
    role; return the ms until a second instance on the same database answers accordingly."""
    grant = permission_ids(org.api)[PROBE]
    role = check(org.api.post("/api/v1/roles", json={"name": "probe", "permission_ids": [grant]}))
    password, email = secrets.token_urlsafe(16), "probe@example.com"
    user = {"username": "probe", "email": email, "password": password}
    check(org.api.post("/api/v1/users", json=user | {"role_ids": [role.json()["id"]]}))
    path, role_path = f"/api/v1/tasks/{org.task}", f"/api/v1/roles/{role.json()['id']}"
    times = []
    with (
        serving(APP, url, secret) as (second, _),
        closing(api_client(second, "probe", password)) as probe,
    ):
        if wait_for(probe, path, allowed=True) == float("inf"):
            raise SystemExit(f"the probe user never could read {path} on the second instance")
        for number in range(1, rounds + 1):
            for grants, allowed in (([], False), ([grant], True)):
                time.sleep(random.uniform(0.1, 0.4))  # not in step with any polling
                check(org.api.put(role_path, json={"permission_ids": grants}))
                times.append(wait_for(probe, path, allowed))
                said = "regained" if allowed else "lost"
                say(f"propagation {number}: {said:8} after {times[-1]:7.1f} ms")
    return times


def sync(url: str, secret: str, what: str, fatal: bool = True) -> float:
    """Time `policy sync` (`python -m app.cli sync`) on `url`; say what it said. A failure
    stops the run, or (not `fatal`) is said in full and counts as an endless time."""
    try:
        seconds, said = run_app_module(url, secret, "app.cli", "sync")
    except SystemExit as failed:
        if fatal:
            raise
        seconds, said = float("inf"), f"FAILED: {failed}"
    say(f"policy sync {what}: {seconds:.2f} s ({said}), {casbin_lines(url):,} lines now")
    return seconds


def report(sites: dict[str, Site], figures: dict[str, Any]) -> None:
    """Print the table: seeded and 100k-line figures, their ratio, the goals."""
    seeded, org = sites["seeded"], sites["org"]

    def row(label: str, a: float | None, b: float, note: str = "", met: bool | None = None) -> None:
        left, right = ("" if x is None else f"{x:.{1 if x < 100 else 0}f}" for x in (a, b))
        verdict = "" if met is None else " met" if met else " MISSED"
        print(f"{label:40} {left:>8} {right:>12}   {note}{verdict}".rstrip())

    print(f"{'':40} {'seeded':>8} {'100k lines':>12}   ratio / goal")
    for key in ("read", "list", "dashboard"):
        a, b = seeded.median(key), org.median(key)
        goal = "  goal >= 0.9x speed" if key in ("read", "list") else ""
        label = "warm authorized read" if key == "read" else f"warm {key}"
        row(f"{label} (ms)", a, b, f"{a / b:.2f}x speed{goal}", a / b >= 0.9 if goal else None)
    b = org.median("put")
    row("PUT /roles (ms)", seeded.median("put"), b, "goal <= 100 ms", b <= 100)
    for key, warm in (("first read", "read"), ("first dashboard", "dashboard")):
        ratio = org.median(key) / org.median(warm)
        note = f"{ratio:.2f}x warm  goal <= 2x warm {warm}"
        row(f"{key} after a change (ms)", seeded.median(key), org.median(key), note, ratio <= 2)
    a, b = figures["load_enforcer"]["seeded"], figures["load_enforcer"]["org"]
    row("load_enforcer (ms)", a, b, f"{b / a:.0f}x")
    a, b = figures["rss"]["seeded"], figures["rss"]["org"]
    row("server RSS (MB)", a, b, f"+{b - a:.0f}  goal <= seeded + 60", b <= a + 60)
    a, b = figures["sync_noop"]["seeded"], figures["sync_noop"]["org"]
    row("policy sync, nothing to change (s)", a, b, "the command's fixed cost")
    for key in ("adding", "removing"):
        row(f"policy sync {key} 100k (s)", None, figures[key], "goal <= 5", figures[key] <= 5)
    ms = statistics.median(figures["propagation"])
    row("propagation to a second instance (ms)", None, ms, "goal <= 1000", ms <= 1000)


def prepare(server: str, secret: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Make both databases; add the organisation to one and sync it (timed)."""
    recreate(server, list(DATABASES.values()))
    urls = {label: database_url(server, name) for label, name in DATABASES.items()}
    for url in urls.values():
        run_app_module(url, secret, "app.init_db")
    started = time.perf_counter()
    add_organisation(urls["org"])
    say(f"organisation written in SQL in {time.perf_counter() - started:.1f} s")
    figures: dict[str, Any] = {"adding": sync(urls["org"], secret, "adding the organisation")}
    figures["sync_noop"] = {label: sync(url, secret, label) for label, url in urls.items()}
    return urls, figures


def main() -> None:
    parser = bench_arguments(__doc__.splitlines()[0], "fewer rounds")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    reads, pairs, spread = 10, (1 if args.quick else 2), (2 if args.quick else 3)
    secret = secrets.token_urlsafe(48)
    started = time.monotonic()
    try:
        urls, figures = prepare(args.server, secret)
        figures["load_enforcer"] = load_enforcer_ms(urls, 3)
        with ExitStack() as stack:
            sites = {}
            for label, url in urls.items():
                base, pid = stack.enter_context(serving(APP, url, secret))
                sites[label] = open_site(label, base, pid)
            print(f"{rounds} rounds: {reads} of each warm request, {pairs * 2} PUTs per database")
            measure_rounds(list(sites.values()), rounds, reads, pairs)
            figures["rss"] = {label: tree_rss(site.pid) for label, site in sites.items()}
            figures["propagation"] = propagation(sites["org"], urls["org"], secret, spread)
        remove_organisation(urls["org"])
        figures["removing"] = sync(urls["org"], secret, "removing the organisation", fatal=False)
        print()
        report(sites, figures)
    finally:
        recreate(args.server, list(DATABASES.values()), create=False)
    print(f"\n({time.monotonic() - started:.0f} s in all; 1-minute load average now {load():.2f})")


if __name__ == "__main__":
    main()
