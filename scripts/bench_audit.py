"""What the audit log costs a write: authorized creates and updates with and without it.

Usage: python scripts/bench_audit.py [--quick] [--rounds N] [--seconds S] [--server URL]

Makes a fresh PostgreSQL database (`crud_bench_audit`, seeded by `init_db`), starts the app
(1 worker, production settings) and beside it the same app with the audit capture switched
off (`bench_unaudited.py`), both on that database, then drives each with `wrk -t2 -c16` as
admin with a bearer token, over interleaved rounds: creates of customers, and updates that
change a customer's name (one of 200, at random, so every update is a change the log records).
Prints each run with the load average, the medians, and the ratio audited / unaudited.
"""

import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import ROOT, app_environment, bench_arguments
from bench_load import UNITS, serving

from app.core.config import with_driver

DATABASE = "crud_bench_audit"
RECORDS = 200  # customers the updates spread over
GOAL = 0.8  # audited req/s at least this share of unaudited
CREATE = """
request = function()
  local body = '{"name": "bench customer ' .. math.random(1, 1000000000) .. '"}'
  return wrk.format("POST", "/api/v1/customers", headers, body)
end
"""
UPDATE = """
request = function()
  local id = ids[math.random(1, #ids)]
  local body = '{"name": "renamed ' .. math.random(1, 1000000000) .. '"}'
  return wrk.format("PUT", "/api/v1/customers/" .. id, headers, body)
end
"""


def fresh_database(server: str, secret: str, name: str = DATABASE) -> str:
    """Drop and create the benchmark's database; migrate and seed it with `init_db`."""
    admin = create_engine(
        make_url(with_driver(server, asynchronous=False)), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    env = app_environment(url) | {"SECRET_KEY": secret}
    subprocess.run(
        [sys.executable, "-m", "app.init_db"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return url


def token(base: str) -> str:
    answer = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": "admin", "password": "admin123"}
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def script(folder: Path, name: str, body: str, bearer: str, ids: list[int]) -> Path:
    """Write a wrk script: the request maker, with the headers and record ids it uses."""
    path = folder / f"{name}.lua"
    head = (
        f'headers = {{["Authorization"] = "Bearer {bearer}", '
        '["Content-Type"] = "application/json"}\n'
        f"ids = {{{', '.join(map(str, ids))}}}\n"
        "math.randomseed(os.time())\n"
    )
    path.write_text(head + body)
    return path


def wrk(base: str, lua: Path, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(lua), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "p50": float(p50[1]) * UNITS[p50[2]] if p50 else float("nan"),
        "non2xx": float(non2xx[1]) if non2xx else 0.0,
        "load": os.getloadavg()[0],
    }


def interleaved(
    servers: dict[str, str], scripts: dict[str, Path], rounds: int, seconds: int
) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Run every script against every server, `rounds` times, the servers' order alternating
    (so neither always follows the other); print each run; return them by (script, server)."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for number in range(1, rounds + 1):
        order = list(servers) if number % 2 else list(reversed(servers))
        for op in scripts:
            for variant in order:
                time.sleep(1)
                run = wrk(servers[variant], scripts[op], seconds)
                runs.setdefault((op, variant), []).append(run)
                print(
                    f"  round {number}: {op:6} {variant:9} {run['rps']:7.1f} req/s"
                    f"  p50 {run['p50']:6.2f} ms  non-2xx {run['non2xx']:.0f}"
                    f"  load {run['load']:.2f}",
                    flush=True,
                )
    return runs


def main() -> None:
    parser = bench_arguments(__doc__.splitlines()[0], "3 s per run, 3 rounds")
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    seconds = args.seconds or (3 if args.quick else 8)
    secret = secrets.token_urlsafe(48)
    url = fresh_database(args.server, secret)
    variants = {"audited": "app.main:app", "unaudited": "scripts.bench_unaudited:app"}
    with (
        tempfile.TemporaryDirectory() as folder,
        serving(variants["audited"], url, secret) as audited,
        serving(variants["unaudited"], url, secret) as unaudited,
    ):
        servers = {"audited": audited[0], "unaudited": unaudited[0]}
        bearer = token(audited[0])
        ids = [
            httpx.post(
                f"{audited[0]}/api/v1/customers",
                json={"name": f"customer {n}"},
                headers={"Authorization": f"Bearer {bearer}"},
            ).json()["id"]
            for n in range(RECORDS)
        ]
        scripts = {
            op: script(Path(folder), op, body, bearer, ids)
            for op, body in (("create", CREATE), ("update", UPDATE))
        }
        print(f"2 operations x 2 variants x {rounds} rounds x {seconds} s, wrk -t2 -c16")
        runs = interleaved(servers, scripts, rounds, seconds)
    print()
    print(f"{'operation':10} {'audited':>10} {'unaudited':>10} {'ratio':>7}  goal >= {GOAL}")
    for op in scripts:
        with_log, without = (
            statistics.median(r["rps"] for r in runs[op, v]) for v in ("audited", "unaudited")
        )
        ratio = with_log / without
        verdict = "ok" if ratio >= GOAL else "MISSED"
        print(f"{op:10} {with_log:10.1f} {without:10.1f} {ratio:7.2f}  {verdict}")


if __name__ == "__main__":
    main()
