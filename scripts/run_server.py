#!/usr/bin/env python3
"""Development server: supervisord keeps `uvicorn --reload` running on CLAUDE_INTERNAL_PORT.

Usage: python scripts/run_server.py start|stop|restart|status|logs [-n LINES]

`start` loads `.env`, initializes the database (`python -m app.init_db`, idempotent) and
starts supervisord in the background; `stop` shuts it down and waits until neither
supervisord nor uvicorn is left. Logs, the pid file and the control socket live in
`var/` (or in $SUPERVISOR_VAR). Exit status: 0 on success, 1 on failure (and for
`status` when the server is not running).
"""

import argparse
import os
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "supervisord.conf"
PROGRAM = "uvicorn"
LOG_NAMES = ("uvicorn.out.log", "uvicorn.err.log")


def prepare_environment() -> Path:
    """Load `.env` and export what supervisord.conf reads; return the state directory."""
    load_dotenv(ROOT / ".env", override=False)
    os.environ.setdefault("ENVIRONMENT", "development")  # the app's own default is production
    os.environ.setdefault("HOST", "0.0.0.0")
    os.environ.setdefault("CLAUDE_INTERNAL_PORT", "8000")
    os.environ.setdefault("SERVER_PYTHON", sys.executable)
    var = Path(os.environ.setdefault("SUPERVISOR_VAR", str(ROOT / "var"))).resolve()
    os.environ["SUPERVISOR_VAR"] = str(var)
    var.mkdir(parents=True, exist_ok=True)
    return var


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def supervisord_pid(var: Path) -> int | None:
    """The pid of our supervisord when it is alive, else None."""
    try:
        pid = int((var / "supervisord.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def supervisorctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(CONFIG), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def program_state() -> str:
    """The state supervisorctl reports for uvicorn (RUNNING, STARTING, ...), or ''."""
    words = supervisorctl("status", PROGRAM).stdout.split()
    return words[1] if len(words) > 1 and words[0] == PROGRAM else ""


def program_pid() -> int | None:
    text = supervisorctl("pid", PROGRAM).stdout.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def port_open(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int) -> list[str]:
    try:
        with path.open(errors="replace") as handle:
            return list(deque(handle, maxlen=lines))
    except FileNotFoundError:
        return []


def start(var: Path) -> int:
    pid = supervisord_pid(var)
    if pid:
        print(f"already running (supervisord pid {pid})")
        return 0
    print("initializing the database (python -m app.init_db)")
    if subprocess.run([sys.executable, "-m", "app.init_db"], cwd=ROOT, check=False).returncode:
        print("database initialization failed; not starting", file=sys.stderr)
        return 1
    result = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(CONFIG)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        print(f"supervisord failed to start:\n{result.stdout}{result.stderr}", file=sys.stderr)
        return 1
    if not wait_until(lambda: program_state() == "RUNNING", 20):
        print(f"uvicorn did not reach RUNNING (state {program_state() or 'unknown'})")
        print_logs(var, 20)
        return 1
    host, port = os.environ["HOST"], os.environ["CLAUDE_INTERNAL_PORT"]
    if not wait_until(lambda: port_open(host, int(port)), 30):
        print(f"uvicorn is running but does not answer on port {port}")
        print_logs(var, 20)
        return 1
    print(f"started: uvicorn on http://{host}:{port} (supervisord pid {supervisord_pid(var)})")
    return 0


def stop(var: Path) -> int:
    pid = supervisord_pid(var)
    if not pid:
        print("not running")
        return 0
    child = program_pid()
    result = supervisorctl("shutdown")
    if result.returncode:
        os.kill(pid, 15)  # the socket did not answer: ask supervisord directly
    pids = [p for p in (pid, child) if p]
    if not wait_until(lambda: not any(pid_alive(p) for p in pids), 30):
        print(f"still running after 30 s: pids {[p for p in pids if pid_alive(p)]}")
        return 1
    print("stopped")
    return 0


def status(var: Path) -> int:
    if not supervisord_pid(var):
        print("not running")
        return 1
    result = supervisorctl("status")
    print(result.stdout, end="")
    return 0 if result.returncode == 0 else 1


def print_logs(var: Path, lines: int) -> int:
    found = False
    for name in LOG_NAMES:
        path = var / name
        if path.exists():
            found = True
            print(f"==> {path} <==")
            print("".join(tail(path, lines)), end="")
    if not found:
        print(f"no logs yet in {var}")
    return 0 if found else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "restart", "status", "logs"])
    parser.add_argument("-n", "--lines", type=int, default=50, help="log lines to show")
    args = parser.parse_args(argv)
    var = prepare_environment()
    if args.action == "start":
        return start(var)
    if args.action == "stop":
        return stop(var)
    if args.action == "restart":
        return stop(var) or start(var)
    if args.action == "status":
        return status(var)
    return print_logs(var, args.lines)


if __name__ == "__main__":
    sys.exit(main())
