"""The development server reloads for changes under app/, templates/ and policy/ only.

`make run` (`python -m app.serve`) is started for real and files are written where it must
and must not look; the supervisord server (`scripts/run_server.py`) is checked through
uvicorn's own reading of its command line and environment.
"""

import ast
import configparser
import importlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from uvicorn.supervisors.watchfilesreload import FileFilter

from app.core.config import PROJECT_ROOT as ROOT
from app.serve import RELOAD_DIRS
from tests.support.server import free_port

WATCHED = sorted(ROOT / name for name in RELOAD_DIRS)


def read_until(log: Path, pattern: str, timeout: float) -> re.Match[str] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.1)
    return None


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[Path]:
    """Start `python -m app.serve` as `make run` does; yield its log."""
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "HOST": "127.0.0.1",
        "CLAUDE_INTERNAL_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path}/app.db",
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "app.serve"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield log
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_make_run_reloads_for_app_templates_and_policy_only(make_run: Path) -> None:
    """A file written in the checkout's root or `.venv` reloads nothing; a template does."""
    watching = read_until(make_run, r"Will watch for changes in these directories: (\[.*\])", 10)
    assert watching, make_run.read_text()
    assert sorted(map(Path, ast.literal_eval(watching.group(1)))) == WATCHED
    assert read_until(make_run, r"Started reloader process", 10), make_run.read_text()
    probe = f"_reload_probe_{os.getpid()}"
    ignored = [ROOT / f"{probe}.py", ROOT / ".venv" / f"{probe}.py", ROOT / f"{probe}.html"]
    template = ROOT / "templates" / f"{probe}.html"
    try:
        for path in ignored:
            path.write_text("# written by tests/ops/test_reload.py\n")
        time.sleep(1.5)  # several of the reloader's checks
        assert "Reloading" not in make_run.read_text(), make_run.read_text()
        template.write_text("{# written by tests/ops/test_reload.py #}\n")
        assert read_until(make_run, rf"{probe}\.html.*Reloading", 10), make_run.read_text()
    finally:
        for path in [*ignored, template]:
            path.unlink(missing_ok=True)


def supervised_command() -> list[str]:
    """Return the arguments supervisord.conf gives uvicorn, environment filled in."""
    config = configparser.RawConfigParser()
    config.read(ROOT / "supervisord.conf")
    command = config["program:uvicorn"]["command"]
    command = re.sub(r"%\(ENV_(\w+)\)s", lambda m: os.environ[m.group(1)], command)
    words = command.split()
    assert words[1:3] == ["-m", "uvicorn"], words
    return words[3:]


def test_the_supervised_server_watches_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn, started as run_server.py starts it, watches the same directories and files."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import run_server
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    monkeypatch.setattr(os, "environ", dict(os.environ) | {"SUPERVISOR_VAR": str(tmp_path)})
    run_server.prepare_environment()
    monkeypatch.chdir(ROOT)
    cli = importlib.import_module("uvicorn.main")  # `uvicorn.main` is also the command
    ran: dict[str, Any] = {}
    monkeypatch.setattr(cli, "run", lambda app, **options: ran.update(options, app=app))
    cli.main.main(supervised_command(), standalone_mode=False)
    app = ran.pop("app")
    config = uvicorn.Config(app, **{k: v for k, v in ran.items() if k != "app_dir"})
    assert sorted(config.reload_dirs) == WATCHED
    watched = FileFilter(config)
    for name in ("app/x.py", "templates/x.html", "policy/model.conf", "policy/tests.toml"):
        assert watched(ROOT / name), name
