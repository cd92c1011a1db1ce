"""Run the `policy` console script as a subprocess against the live test database."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.core.config import PROJECT_ROOT
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


@pytest.fixture
def policy(live: Backend) -> PolicyRunner:
    """Run `policy ARGS...` on the live backend's database; return its exit code and output."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POSTGRES_", "DATABASE_", "SQLITE_"))
    }
    env |= {
        "DATABASE_URL": plain_url(live),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "test-secret-key-of-at-least-32-bytes",
    }
    if live.settings.is_sqlite:
        env["SQLITE_PATH"] = str(live.settings.sqlite_path)

    def run(*args: str, **settings: str) -> Result:
        """Run with `args`; keyword arguments are extra environment (AUDIT_RETENTION_DAYS=...)."""
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
