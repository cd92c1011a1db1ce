"""Run the `policy` command against the live test database: in the test's own process
(`app.cli.main`, with the environment a shell would give it), or as the installed console
script where the process itself is what a test checks."""

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from app.core.config import PROJECT_ROOT, get_settings
from tests.conftest import Backend


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def plain_url(backend: Backend) -> str:
    """Return the backend's URL without a driver: `postgresql://...` or `sqlite:///...`."""
    scheme, _, rest = backend.settings.sync_database_url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


# the console script pyproject.toml declares, installed beside the interpreter
SCRIPT = Path(sys.executable).parent / "policy"

PolicyRunner = Callable[..., Result]


def environment(live: Backend) -> dict[str, str]:
    """The environment `policy` runs with on the live backend's database."""
    env = {"DATABASE_URL": plain_url(live), "ENVIRONMENT": "test"}
    env["SECRET_KEY"] = "test-secret-key-of-at-least-32-bytes"
    if live.settings.is_sqlite:
        env["SQLITE_PATH"] = str(live.settings.sqlite_path)
    return env


OTHER_SETTINGS = ("POSTGRES_", "DATABASE_", "SQLITE_")


@pytest.fixture
def policy(live: Backend, monkeypatch: pytest.MonkeyPatch) -> PolicyRunner:
    """Run `policy ARGS...` on the live backend's database, in this process (a subprocess
    adds an interpreter's start and nothing else); return its exit code and output."""
    env = environment(live)

    def run(*args: str, **settings: str) -> Result:
        """Run with `args`; keyword arguments are extra environment (AUDIT_RETENTION_DAYS=...)."""
        out, err = io.StringIO(), io.StringIO()
        with monkeypatch.context() as patch:
            for key in [key for key in os.environ if key.startswith(OTHER_SETTINGS)]:
                patch.delenv(key)
            for key, value in (env | settings).items():
                patch.setenv(key, value)
            get_settings.cache_clear()
            try:
                with redirect_stdout(out), redirect_stderr(err):
                    code = main(list(args))
            except SystemExit as exc:  # argparse: --help, or a usage error
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            finally:
                get_settings.cache_clear()
        return Result(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def policy_script(live: Backend) -> PolicyRunner:
    """Run the installed `policy` console script as a subprocess (its own process)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(OTHER_SETTINGS)}
    env |= environment(live)

    def run(*args: str, **settings: str) -> Result:
        done = subprocess.run(
            [str(SCRIPT), *args],
            cwd=PROJECT_ROOT,
            env=env | settings,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def permission_ids(admin: httpx.Client, role: str) -> tuple[int, list[int]]:
    found = admin.get("/roles", params={"q": role}).json()["items"]
    record = next(r for r in found if r["name"] == role)
    return record["id"], admin.get(f"/roles/{record['id']}").json()["permission_ids"]


def permission_id(admin: httpx.Client, name: str) -> int:
    model, action, scope = name.split(":")
    found = admin.get("/permissions", params={"q": model, "limit": 200}).json()["items"]
    return next(
        p["id"] for p in found if (p["model"], p["action"], p["scope"]) == (model, action, scope)
    )
