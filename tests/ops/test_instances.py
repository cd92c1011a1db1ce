"""Two app processes on one database: a policy change made through one reaches the other.

Each instance is its own `uvicorn` process (as on two machines behind nginx). On
PostgreSQL the other instance learns of the change through `LISTEN/NOTIFY` (its periodic
check is set to a minute here, so only the notification can be fast); on SQLite, by the
periodic check of the stored revision. `/readyz` names the revision a worker enforces, so
the test sees the other instance move on without sending it a request that would make it
look.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.support.catalog import SERVER_URL, scratch_database
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
APP_ENV = {"ENVIRONMENT": "test", "SECRET_KEY": "instances-test-secret-key-of-32-bytes"}
APP_ENV |= {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}  # cheap hashing
BACKENDS = ["sqlite", "postgresql"] if SERVER_URL else ["sqlite"]
CHANGES = 5
# How soon the other instance must enforce a change: PostgreSQL's notification arrives in
# milliseconds; SQLite's check runs every POLL seconds.
POLL = {"postgresql": "60", "sqlite": "0.2"}
WITHIN = 1.0


@contextmanager
def database_url(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "postgresql":
        assert SERVER_URL
        with scratch_database(SERVER_URL, "instances") as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'app.db'}"


@contextmanager
def instance(env: dict[str, str], log: Path) -> Iterator[str]:
    """Serve the app in a process of its own; yield its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--no-proxy-headers"]
    command += ["--host", "127.0.0.1"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            with suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def two_instances(backend: str, tmp: Path) -> Iterator[tuple[str, str]]:
    """A database made by `init_db`, served by two instances; yield their base URLs."""
    with database_url(backend, tmp) as url:
        env = os.environ | APP_ENV | {"DATABASE_URL": url, "POLICY_POLL_SECONDS": POLL[backend]}
        env.pop("TEST_DATABASE_URL", None)
        init = subprocess.run(
            [sys.executable, "-m", "app.init_db"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert init.returncode == 0, init.stdout + init.stderr
        log = tmp / "instances.log"
        with instance(env, log) as a, instance(env, log) as b:
            yield a, b


def revision(base: str) -> int:
    return httpx.get(f"{base}/readyz", timeout=5).json()["policy_revision"]


def sign_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{base}/api/v1", timeout=30)
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_change_through_one_instance_reaches_the_other(backend: str, tmp_path: Path) -> None:
    """Revoke and restore a role's permission through A, CHANGES times: each time B moves to
    the new revision within WITHIN seconds with no request of its own, then enforces it."""
    with two_instances(backend, tmp_path) as (a, b):
        admin = sign_in(a, "admin", "admin123")
        demo = sign_in(b, "demo", "demo123")
        role = next(
            r
            for r in admin.get("/roles", params={"q": "user"}).json()["items"]
            if r["name"] == "user"
        )
        found = admin.get("/permissions", params={"model": "customer", "action": "read"})
        reads = {p["id"] for p in found.json()["items"]}
        assert len(reads & set(role["permission_ids"])) == 2  # :own and :group
        kept = sorted(set(role["permission_ids"]) - reads)
        assert demo.get("/customers").status_code == 200

        delays = []
        for change in range(CHANGES):
            ids = kept if change % 2 == 0 else role["permission_ids"]
            before = revision(b)
            started = time.monotonic()
            response = admin.put(f"/roles/{role['id']}", json={"permission_ids": ids})
            assert response.status_code == 200, response.text
            while revision(b) <= before:
                assert time.monotonic() - started < 10, "the change never arrived"
                time.sleep(0.01)
            delays.append(time.monotonic() - started)
            expected = 403 if change % 2 == 0 else 200
            assert demo.get("/customers").status_code == expected
        assert max(delays) < WITHIN, delays


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_condition_through_one_instance_reaches_the_other(
    backend: str, tmp_path: Path
) -> None:
    """A condition's expression changed through A, CHANGES times: each time B moves to the
    new revision within WITHIN seconds with no request of its own, then decides by it."""
    with two_instances(backend, tmp_path) as (a, b):
        admin = sign_in(a, "admin", "admin123")
        body = {"name": "named", "model": "tag", "expression": 'record.name == "one"'}
        condition = admin.post("/conditions", json=body).json()
        grant = {
            "model": "tag",
            "action": "read",
            "scope": "all",
            "condition_id": condition["id"],
        }
        permission = admin.post("/permissions", json=grant).json()
        role = admin.post("/roles", json={"name": "taggers", "permission_ids": [permission["id"]]})
        user = {
            "username": "tagger",
            "email": "tagger@example.com",
            "password": "tidal-parsnip-42",
        }
        assert (
            admin.post("/users", json=user | {"role_ids": [role.json()["id"]]}).status_code == 201
        )
        for name in ("one", "two"):
            assert admin.post("/tags", json={"name": name}).status_code == 201
        tagger = sign_in(b, "tagger", "tidal-parsnip-42")
        assert [t["name"] for t in tagger.get("/tags").json()["items"]] == ["one"]
        delays = []
        for change in range(CHANGES):
            wanted = "two" if change % 2 == 0 else "one"
            before = revision(b)
            started = time.monotonic()
            expression = {"expression": f'record.name == "{wanted}"'}
            response = admin.put(f"/conditions/{condition['id']}", json=expression)
            assert response.status_code == 200, response.text
            while revision(b) <= before:
                assert time.monotonic() - started < 10, "the change never arrived"
                time.sleep(0.01)
            delays.append(time.monotonic() - started)
            assert [t["name"] for t in tagger.get("/tags").json()["items"]] == [wanted]
        assert max(delays) < WITHIN, delays


@pytest.mark.parametrize("backend", BACKENDS)
def test_failed_sign_ins_count_across_instances(backend: str, tmp_path: Path) -> None:
    """Failures through either process count together: the fifth blocks the account at this
    address on both, until the delay has passed."""
    with database_url(backend, tmp_path) as url:
        env = os.environ | APP_ENV | {"DATABASE_URL": url}
        env.pop("TEST_DATABASE_URL", None)
        init = subprocess.run(
            [sys.executable, "-m", "app.init_db"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert init.returncode == 0, init.stdout + init.stderr
        with instance(env, tmp_path / "throttle.log") as a, instance(env, tmp_path / "b.log") as b:
            wrong = {"username": "demo", "password": "not-the-password"}
            right = {"username": "demo", "password": "demo123"}
            statuses = [
                httpx.post(f"{base}/api/v1/auth/login", json=wrong, timeout=30).status_code
                for base in (a, b, a, b, a)
            ]
            assert statuses == [401] * 5
            for base in (a, b):
                refused = httpx.post(f"{base}/api/v1/auth/login", json=right, timeout=30)
                assert refused.status_code == 429
                assert refused.headers["Retry-After"] == "2"
