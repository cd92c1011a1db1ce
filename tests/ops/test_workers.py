"""Two uvicorn workers on one PostgreSQL database agree on sessions and on policy changes.

The kernel hands connections to the workers lopsidedly (often 40 in a row to one), so the test
chooses: the other worker is stopped (SIGSTOP) while the chosen one accepts, and every access
log line names the answering worker's pid and the client's port. PostgreSQL only.
"""

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.config import LOGGING_CONFIG

from tests.support.catalog import SERVER_URL, scratch_database
from tests.support.server import free_port

# pytest reads this: without a server configured there is nothing to collect here.
__test__ = SERVER_URL is not None

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
ROUNDS = 40  # requests per check, shared out evenly between the workers
APP_ENV = {"ENVIRONMENT": "test", "SECRET_KEY": "workers-test-secret-key-of-32-bytes+"}
APP_ENV |= {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}  # cheap hashing
ACCESS_FORMAT = 'access pid=%(process)d %(client_addr)s "%(request_line)s" %(status_code)s'
# One access line: worker pid, client port, request path, status code.
ACCESS = re.compile(r'^access pid=(\d+) 127\.0\.0\.1:(\d+) "\w+ (\S+) HTTP/1\.1" (\d+)', re.M)


@dataclass
class Server:
    base_url: str
    log: Path
    pids: list[int]

    @contextmanager
    def only(self, worker: int) -> Iterator[None]:
        """Stop every other worker for the block, so that `worker` accepts every connection."""
        others = [pid for pid in self.pids if pid != worker]
        for pid in others:
            os.kill(pid, signal.SIGSTOP)
        try:
            for pid in others:  # field 3 of /proc/<pid>/stat is "T" once it is stopped
                while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
                    time.sleep(0.001)
            yield
        finally:
            for pid in others:
                os.kill(pid, signal.SIGCONT)

    def send(
        self, worker: int, method: str, path: str, cookie: str = "", rounds: int = 1, **kw: Any
    ) -> list[httpx.Response]:
        """Send the request `rounds` times to `worker`, each on a new connection."""
        start = self.log.stat().st_size
        limits = httpx.Limits(max_keepalive_connections=0)
        with self.only(worker), httpx.Client(base_url=self.base_url, limits=limits) as client:
            if cookie:
                client.cookies.set("session_id", cookie)
            responses = [client.request(method, path, timeout=30, **kw) for _ in range(rounds)]
        lines = ACCESS.findall(self.log.read_bytes()[start:].decode())
        expected = [(worker, path, r.status_code) for r in responses]
        served = [(int(pid), p.split("?")[0], int(status)) for pid, _, p, status in lines]
        assert served == expected
        assert len({port for _, port, _, _ in lines}) == rounds  # a new connection each
        return responses

    def everywhere(self, path: str, cookie: str, *order: int) -> dict[int, set[int]]:
        """GET `path` ROUNDS times, from each worker in `order` in turn; map pid to statuses."""
        sent = {w: self.send(w, "GET", path, cookie, ROUNDS // WORKERS) for w in order}
        return {w: {r.status_code for r in responses} for w, responses in sent.items()}


def wait_ready(process: subprocess.Popen[bytes], log: Path, port: int) -> list[int]:
    """Wait until every worker has started and /healthz answers; return the worker pids."""
    deadline = time.monotonic() + 60
    while (text := log.read_text(errors="replace")).count("startup complete.") < WORKERS:
        assert process.poll() is None and time.monotonic() < deadline, f"no start:\n{text}"
        time.sleep(0.1)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    return [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", text)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`uvicorn --workers 2` on a scratch database, migrated and seeded by `app.init_db`."""
    assert SERVER_URL, "TEST_DATABASE_URL is not set"
    tmp = tmp_path_factory.mktemp("workers")
    with scratch_database(SERVER_URL, "workers") as url:
        env = os.environ | APP_ENV | {"DATABASE_URL": url}
        init = subprocess.run(
            [sys.executable, "-m", "app.init_db"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert init.returncode == 0, init.stdout + init.stderr
        config, log, port = tmp / "log.json", tmp / "uvicorn.log", free_port()
        logs = copy.deepcopy(LOGGING_CONFIG)  # uvicorn's, with the worker's pid in access lines
        logs["formatters"]["access"]["fmt"] = ACCESS_FORMAT
        config.write_text(json.dumps(logs))
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--no-proxy-headers"]
        command += ["--workers", str(WORKERS)]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-config", str(config)]
        command += ["--timeout-worker-healthcheck", "60"]  # a stopped worker misses its pings
        with log.open("ab") as out:  # appends: the workers' lines never overwrite each other
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
            )
        try:
            pids = sorted(wait_ready(process, log, port))
            yield Server(f"http://127.0.0.1:{port}", log, pids)
        finally:
            with suppress(ProcessLookupError):  # the group is gone if uvicorn died at start
                os.killpg(process.pid, signal.SIGTERM)
                os.killpg(process.pid, signal.SIGCONT)  # in case a failure left a worker stopped
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_workers_share_sessions_and_policy_changes(server: Server) -> None:
    """Serve one session and each policy revision identically from every worker."""
    a, b = server.pids  # two distinct worker processes
    api = "/api/v1"

    def sign_in(worker: int, username: str, password: str) -> str:
        body = {"username": username, "password": password}
        (response,) = server.send(worker, "POST", f"{api}/auth/login", json=body)
        assert response.status_code == 200, response.text
        return response.cookies["session_id"]

    demo, admin = sign_in(a, "demo", "demo123"), sign_in(b, "admin", "admin123")
    assert server.everywhere(f"{api}/auth/me", demo, b, a) == {a: {200}, b: {200}}
    assert server.everywhere(f"{api}/customers", demo, a, b) == {a: {200}, b: {200}}

    (found,) = server.send(a, "GET", f"{api}/roles", admin, params={"q": "user"})
    role = next(r for r in found.json()["items"] if r["name"] == "user")
    query = {"model": "customer", "action": "read"}
    (found,) = server.send(a, "GET", f"{api}/permissions", admin, params=query)
    reads = {p["id"] for p in found.json()["items"]}
    assert len(reads & set(role["permission_ids"])) == 2  # customer:read:own and :group
    kept = {"permission_ids": sorted(set(role["permission_ids"]) - reads)}
    # Changed through a, then asked of b first: its very next request must see the change.
    (changed,) = server.send(a, "PUT", f"{api}/roles/{role['id']}", admin, json=kept)
    assert changed.status_code == 200, changed.text
    assert server.everywhere(f"{api}/customers", demo, b, a) == {a: {403}, b: {403}}

    restored = {"permission_ids": role["permission_ids"]}
    (changed,) = server.send(b, "PUT", f"{api}/roles/{role['id']}", admin, json=restored)
    assert changed.status_code == 200, changed.text
    assert server.everywhere(f"{api}/customers", demo, a, b) == {a: {200}, b: {200}}

    (logout,) = server.send(b, "POST", f"{api}/auth/logout", demo)
    assert logout.status_code == 204, logout.text
    assert server.everywhere(f"{api}/auth/me", demo, a, b) == {a: {401}, b: {401}}


def test_workers_count_failed_sign_ins_together(server: Server) -> None:
    """Failures answered by either worker count together; both then answer 429."""
    a, b = server.pids
    wrong = {"username": "nobody-at-all", "password": "not-the-password"}
    login = "/api/v1/auth/login"
    answered = [server.send(w, "POST", login, json=wrong)[0].status_code for w in (a, b, a, b, a)]
    assert answered == [401] * 5
    for worker in (a, b):
        (refused,) = server.send(worker, "POST", login, json=wrong)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
