"""Goals 6 and 7 of `make bench` and its memory figure: how fast a policy change reaches
other instances, what a login flood does to other requests, a worker's resident memory.
Helpers of `scripts/bench.py`, which starts the servers and prints the figures.
"""

import os
import statistics
import subprocess
import time
from pathlib import Path

import httpx


def sign_in(base: str, username: str, password: str) -> dict[str, str]:
    response = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": username, "password": password}
    )
    response.raise_for_status()
    return {"Cookie": f"session_id={response.cookies['session_id']}"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def timed_get(client: httpx.Client, path: str) -> float:
    """Return the milliseconds one GET took, after checking it succeeded."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed = 1000 * (time.perf_counter() - started)
    response.raise_for_status()
    return elapsed


def propagation(writer: str, observers: list[str], changes: int, read: str) -> dict[str, float]:
    """Goal 6: toggle a permission of role `user` through `writer` `changes` times.

    Each time, measure how long until every observer's `/readyz` names the new revision
    (with 2 workers behind one port, until 10 answers in a row do), then the first
    authorized read on the first observer (probed last) against the median of warm reads
    before it: the median of those ratios, and the p99 of first and of warm reads.
    """
    admin = httpx.Client(base_url=f"{writer}/api/v1", headers=sign_in(writer, "admin", "admin123"))
    reader = httpx.Client(base_url=observers[0], headers=sign_in(observers[0], "demo", "demo123"))
    role = next(
        r for r in admin.get("/roles", params={"q": "user"}).json()["items"] if r["name"] == "user"
    )
    grants = role["permission_ids"]
    found = admin.get("/permissions", params={"model": "comment", "action": "delete"}).json()
    extra = [p["id"] for p in found["items"] if p["scope"] == "all"]
    delays, ratios = [], []
    # A new connection per probe, so that a server's workers all get asked in turn.
    probes = [
        httpx.Client(base_url=base, limits=httpx.Limits(max_keepalive_connections=0))
        for base in observers
    ]
    warm_reads, first_reads = [], []
    for change in range(changes):
        times = [timed_get(reader, read) for _ in range(15)]
        warm_reads += times
        warm = statistics.median(times)
        before = probes[0].get("/readyz").json()["policy_revision"]
        ids = grants + extra if change % 2 == 0 else grants
        started = time.monotonic()
        admin.put(f"/roles/{role['id']}", json={"permission_ids": ids}).raise_for_status()
        seen = []
        # The reader's server last, so the first read follows straight on: a read after the
        # server sat idle (probing the others) costs 2-3x a back-to-back one, change or not.
        for probe in reversed(probes):
            streak = 0
            while streak < 10:
                revision = probe.get("/readyz").json()["policy_revision"]
                if revision <= before:
                    streak = 0
                    continue
                if streak == 0:
                    seen.append(time.monotonic() - started)
                streak += 1
                if time.monotonic() - started > 10:
                    raise SystemExit(f"policy change never reached {probe.base_url}")
        # The last moment an observer's answers turned from the old revision to the new one
        # for good (ten new answers in a row: every worker behind its port has it).
        delays.append(max(seen))
        first_reads.append(timed_get(reader, read))
        ratios.append(first_reads[-1] / warm)
    admin.put(f"/roles/{role['id']}", json={"permission_ids": grants}).raise_for_status()
    # One read is one sample: its tail is the machine's as much as the change's (a warm read
    # has one too), so the goal takes the typical first read, and the tails go beside it.
    return {
        "p99 s": percentile(delays, 0.99),
        "first/warm": statistics.median(ratios),
        "first p99 ms": percentile(first_reads, 0.99),
        "warm p99 ms": percentile(warm_reads, 0.99),
    }


FLOOD = """wrk.method = "POST"
wrk.body = '{"username": "demo", "password": "not-the-password"}'
wrk.headers["Content-Type"] = "application/json"
"""


def login_flood(base: str, seconds: int, read: str) -> dict[str, float]:
    """Goal 7: p50 of /healthz and of an authorized read, idle and under wrong-password
    logins from 8 connections (wrk), as ratios."""
    reader = httpx.Client(base_url=base, headers=sign_in(base, "demo", "demo123"))
    paths = {"/healthz": "healthz", read: "read"}

    def probe(until: float) -> dict[str, float]:
        found: dict[str, list[float]] = {path: [] for path in paths}
        while time.monotonic() < until:
            for path in paths:
                found[path].append(timed_get(reader, path))
            time.sleep(0.02)
        return {paths[path]: statistics.median(times) for path, times in found.items()}

    idle = probe(time.monotonic() + seconds)
    script = Path(f"/tmp/bench-flood-{os.getpid()}.lua")
    script.write_text(FLOOD)
    flood = subprocess.Popen(
        ["wrk", "-t2", "-c8", f"-d{seconds + 2}s", "-s", str(script), f"{base}/api/v1/auth/login"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    loaded = probe(time.monotonic() + seconds)
    flood.wait()
    script.unlink()
    return {
        **{f"idle {k} ms": v for k, v in idle.items()},
        **{f"flood {k} ms": v for k, v in loaded.items()},
        **{f"{k} ratio": loaded[k] / idle[k] for k in idle},
    }


def rss_mb(pid: int) -> float:
    """Return the resident memory of process `pid` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
