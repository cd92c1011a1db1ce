"""App instances in processes of their own on one database, as on two machines behind a proxy.

Each instance is `python -m uvicorn app.main:app --no-proxy-headers` started from this
checkout, with the environment it is given (the test's own, plus `APP_ENV` and the database).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from app.core.config import PROJECT_ROOT
from tests.support.catalog import SERVER_URL, scratch_database
from tests.support.server import free_port

APP_ENV = {"ENVIRONMENT": "test", "SECRET_KEY": "instances-test-secret-key-of-32-bytes"}
APP_ENV |= {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}  # cheap hashing
# How often an instance checks the stored policy revision: on PostgreSQL once a minute, so
# that only `LISTEN/NOTIFY` can bring a change fast; on SQLite, the only way, often.
POLL = {"postgresql": "60", "sqlite": "0.2"}


@contextmanager
def database_url(backend: str, tmp: Path) -> Iterator[str]:
    """Yield the URL of an empty database: a scratch one on the PostgreSQL server, or a file."""
    if backend == "postgresql":
        assert SERVER_URL
        with scratch_database(SERVER_URL, "instances") as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'app.db'}"


def app_environment(url: str, **settings: str) -> dict[str, str]:
    """Return the environment of an instance on `url`, with `settings` (`POLICY_POLL_SECONDS`)."""
    env = os.environ | APP_ENV | {"DATABASE_URL": url} | settings
    env.pop("TEST_DATABASE_URL", None)
    return env


def init_database(env: dict[str, str]) -> None:
    """Create, migrate and seed the database `env` names, as `python -m app.init_db` does."""
    init = subprocess.run(
        [sys.executable, "-m", "app.init_db"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stdout + init.stderr


@contextmanager
def instance(env: dict[str, str], log: Path) -> Iterator[str]:
    """Serve the app in a process of its own; yield its base URL."""
    with serving(env, log, 1) as (base,):
        yield base


@contextmanager
def two_instances(backend: str, tmp: Path, **settings: str) -> Iterator[tuple[str, str]]:
    """A database made by `init_db`, served by two instances with `settings` besides the
    backend's `POLICY_POLL_SECONDS`; yield their base URLs."""
    with database_url(backend, tmp) as url:
        env = app_environment(url, POLICY_POLL_SECONDS=POLL[backend], **settings)
        init_database(env)
        with serving(env, tmp / "instances.log", 2) as (a, b):
            yield a, b


@contextmanager
def serving(env: dict[str, str], log: Path, count: int) -> Iterator[list[str]]:
    """Serve the app in `count` processes of their own, started at once (each takes seconds
    to import the app); yield their base URLs once every one is ready."""
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--no-proxy-headers"]
    command += ["--host", "127.0.0.1"]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        while len(processes) < count:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            if base in processes:  # the kernel may offer a port twice
                continue
            with log.open("ab") as out:
                processes[base] = subprocess.Popen(
                    [*command, "--port", str(port)],
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdout=out,
                    stderr=out,
                )
        deadline = time.monotonic() + 60
        for base, process in processes.items():
            while True:
                assert process.poll() is None, log.read_text()
                with suppress(httpx.TransportError):
                    if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                        break
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield list(processes)
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def revision(base: str) -> int:
    """Return the policy revision the instance at `base` enforces (its `/readyz` says)."""
    return httpx.get(f"{base}/readyz", timeout=5).json()["policy_revision"]


def sign_in(base: str, username: str, password: str, **options: Any) -> httpx.Client:
    """Return an API client of `base` signed in as `username` (`options` go to the client)."""
    client = httpx.Client(base_url=f"{base}/api/v1", timeout=30, **options)
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


def customer_reads(admin: httpx.Client) -> tuple[dict[str, Any], list[int]]:
    """Return the seeded `user` role, and its permission ids without its two customer reads
    (`:own` and `:group`): what to set to take reading customers away from its members."""
    role = next(
        r for r in admin.get("/roles", params={"q": "user"}).json()["items"] if r["name"] == "user"
    )
    found = admin.get("/permissions", params={"model": "customer", "action": "read"})
    reads = {p["id"] for p in found.json()["items"]}
    assert len(reads & set(role["permission_ids"])) == 2  # :own and :group
    return role, sorted(set(role["permission_ids"]) - reads)
