"""scripts/run_server.py drives a real supervisord + `uvicorn --reload` on a free port.

Each test run keeps supervisord's socket, pid file and logs in its own temporary
directory (SUPERVISOR_VAR), so parallel runs never share a socket.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "run_server.py"


class Runner:
    def __init__(self, var: Path, port: int) -> None:
        self.var = var
        self.port = port
        self.env = {
            **os.environ,
            "SUPERVISOR_VAR": str(var),
            "CLAUDE_INTERNAL_PORT": str(port),
            "HOST": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{var}/x.db",
            "ENVIRONMENT": "development",
        }

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    def supervisord_pid(self) -> int:
        return int((self.var / "supervisord.pid").read_text().strip())

    def err_log(self) -> str:
        path = self.var / "uvicorn.err.log"
        return path.read_text(errors="replace") if path.exists() else ""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def eventually(predicate: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def worker_pids(log: str) -> list[str]:
    return re.findall(r"Started server process \[(\d+)\]", log)


@pytest.fixture
def runner() -> Iterator[Runner]:
    var = Path(tempfile.mkdtemp(prefix="rs-"))  # short: a unix socket path is limited
    run = Runner(var, free_port())
    try:
        yield run
    finally:
        run("stop")
        shutil.rmtree(var, ignore_errors=True)


def test_status_and_stop_when_not_running(runner: Runner) -> None:
    status = runner("status")
    assert status.returncode == 1
    assert "not running" in status.stdout
    stop = runner("stop")
    assert stop.returncode == 0
    assert "not running" in stop.stdout


def test_start_reload_restart_logs_stop(runner: Runner) -> None:
    started = runner("start")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "started" in started.stdout

    status = runner("status")
    assert status.returncode == 0
    assert re.search(r"uvicorn\s+RUNNING", status.stdout), status.stdout
    assert eventually(lambda: healthy(runner.port))
    # Loopback is no proxy unless TRUSTED_PROXIES names it: a forged header changes nothing.
    forged = httpx.get(
        f"http://127.0.0.1:{runner.port}/healthz", headers={"x-forwarded-proto": "https"}
    )
    assert "strict-transport-security" not in forged.headers

    again = runner("start")
    assert again.returncode == 0
    assert "already running" in again.stdout

    # A new .py file under app/ makes the reloader start a fresh worker.
    workers = worker_pids(runner.err_log())
    assert workers
    probe = ROOT / "app" / f"_reload_probe_{os.getpid()}.py"
    try:
        probe.write_text('"""Reload probe written by tests/ops/test_run_server.py."""\n')
        assert eventually(lambda: probe.name in runner.err_log()), runner.err_log()
        assert "Reloading" in runner.err_log()
    finally:
        probe.unlink(missing_ok=True)
    assert eventually(lambda: set(worker_pids(runner.err_log())) - set(workers))
    assert eventually(lambda: healthy(runner.port))

    first = runner.supervisord_pid()
    restarted = runner("restart")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert "stopped" in restarted.stdout and "started" in restarted.stdout
    assert not pid_alive(first)
    assert runner.supervisord_pid() != first
    assert eventually(lambda: healthy(runner.port))

    logs = runner("logs", "-n", "3")
    assert logs.returncode == 0
    assert "uvicorn.err.log <==" in logs.stdout
    err_tail = logs.stdout.split("uvicorn.err.log <==\n", 1)[1].splitlines()
    assert 0 < len(err_tail) <= 3

    supervisord = runner.supervisord_pid()
    uvicorn_pid = int(re.findall(r"pid (\d+)", runner("status").stdout)[0])
    stopped = runner("stop")
    assert stopped.returncode == 0
    assert "stopped" in stopped.stdout
    assert not pid_alive(supervisord)
    assert not pid_alive(uvicorn_pid)
    assert not port_open(runner.port)
    assert "not running" in runner("status").stdout
