"""Load for the benchmarks: the app (or a baseline) served by uvicorn on a free port, wrk
driving it, and what the serving processes spent (CPU seconds, settling down after)."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import ROOT, app_environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(
    module: str,
    url: str,
    secret: str,
    workers: int = 1,
    health: str = "/healthz",
    env: dict[str, str] | None = None,
    stderr: Path | None = None,
) -> Iterator[tuple[str, int]]:
    """Run uvicorn on `module` against database `url` (`env`: settings beside the usual;
    `stderr`: where its log goes, else the terminal); yield its base URL and pid."""
    port = free_port()
    env = app_environment(url) | {"SECRET_KEY": secret} | (env or {})
    log = stderr.open("ab") if stderr is not None else None
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stderr=log,
    )
    if log is not None:
        log.close()  # the process holds its own
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + health).is_success:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise SystemExit(f"{module} did not start")
        time.sleep(0.2)
    try:
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def tree_cpu(pid: int) -> float:
    """Return the CPU seconds used by `pid` and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in tree)


def settle(pid: int, database: Engine) -> None:
    """Wait until the app and PostgreSQL have finished what the last case left running.

    wrk stops sending at the end of its run, but requests already queued (and slow queries)
    go on; the next case must not pay for them.
    """
    busy = text(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
        " AND datname LIKE 'crud_bench%' AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + 60
    with database.connect() as connection:
        while time.monotonic() < deadline:
            before = tree_cpu(pid) if pid else 0.0
            time.sleep(0.25)
            idle_app = not pid or tree_cpu(pid) - before < 0.02
            if idle_app and connection.execute(busy).scalar_one() == 0:
                break


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, headers: dict[str, str], seconds: int) -> dict[str, float]:
    """Run wrk and return req/s, p50 and p99 (ms), requests, non-2xx and socket errors."""
    args = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout

    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(found[1]) * UNITS[found[2]] if found else float("nan")

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),  # type: ignore[index]
        "requests": float(re.search(r"(\d+) requests in", out)[1]),  # type: ignore[index]
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": float(non2xx[1]) if non2xx else 0.0,
        "socket": float(sum(int(n) for n in errors.groups())) if errors else 0.0,
    }
