"""What metrics and JSON logs cost: the authorized read and the JSON list with both on, beside
the same app with both off.

Usage: python scripts/bench_observability.py [--quick] [--rounds N] [--seconds S] [--server URL]

Makes a fresh PostgreSQL database (`crud_bench_observability`, seeded by `init_db`, 200
tasks), starts the app twice on it (1 worker each, production settings): `observed` with
metrics on and `LOG_FORMAT=json`, its access line per request written to a file, and
`plain` with metrics off (`METRICS_ENABLED=false`) and no access log at all. Then drives
each with `wrk -t2 -c16` as admin with a bearer token, in interleaved rounds (the order
alternating): a task by id, and the task list's first page. Prints each run with the load
average, then the medians and the ratio observed / plain (the median of each round's pair)
against the goal (>= 0.95).
"""

import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_audit import fresh_database, interleaved, script, token
from bench_data import bench_arguments
from bench_load import serving

DATABASE = "crud_bench_observability"
TASKS = 200
GOAL = 0.95
READ = """
request = function()
  return wrk.format("GET", "/api/v1/tasks/" .. ids[math.random(1, #ids)], headers)
end
"""
LIST = """
request = function()
  return wrk.format("GET", "/api/v1/tasks", headers)
end
"""


def main() -> None:
    parser = bench_arguments(__doc__.splitlines()[0], "3 s per run, 3 rounds")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 9)
    seconds = args.seconds or (3 if args.quick else 5)
    secret = secrets.token_urlsafe(48)
    url = fresh_database(args.server, secret, DATABASE)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "observed.log"
        observed_env = {"METRICS_ENABLED": "true", "LOG_FORMAT": "json"}
        plain_env = {"METRICS_ENABLED": "false", "LOG_FORMAT": "text"}
        with (
            serving("app.main:app", url, secret, env=observed_env, stderr=log) as observed,
            serving("app.main:app", url, secret, env=plain_env) as plain,
        ):
            servers = {"observed": observed[0], "plain": plain[0]}
            bearer = token(plain[0])
            headers = {"Authorization": f"Bearer {bearer}"}
            project = httpx.post(
                f"{plain[0]}/api/v1/projects", json={"name": "bench"}, headers=headers
            ).json()["id"]
            ids = [
                httpx.post(
                    f"{plain[0]}/api/v1/tasks",
                    json={"title": f"task {n}", "project_id": project},
                    headers=headers,
                ).json()["id"]
                for n in range(TASKS)
            ]
            scripts = {
                op: script(Path(folder), op, body, bearer, ids)
                for op, body in (("read", READ), ("list", LIST))
            }
            print(f"2 requests x 2 variants x {rounds} rounds x {seconds} s, wrk -t2 -c16")
            runs = interleaved(servers, scripts, rounds, seconds)
        lines = log.read_text().count('"logger": "app.access"')
    print(f"\nthe observed app wrote {lines:,} JSON access lines")
    # Each round's two runs are a pair, back to back: the ratio is the median of the pairs'
    # ratios, which the machine's drift from round to round (seconds apart) moves less.
    print(f"{'request':8} {'observed':>10} {'plain':>10} {'ratio':>7}  goal >= {GOAL}")
    for op in scripts:
        on, off = (statistics.median(r["rps"] for r in runs[op, v]) for v in ("observed", "plain"))
        pairs = zip(runs[op, "observed"], runs[op, "plain"], strict=True)
        ratio = statistics.median(a["rps"] / b["rps"] for a, b in pairs)
        verdict = "met" if ratio >= GOAL else "NOT MET"
        print(f"{op:8} {on:10.1f} {off:10.1f} {ratio:7.2f}  {verdict}")
    print(f"(1-minute load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
