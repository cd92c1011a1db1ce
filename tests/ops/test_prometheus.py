"""A real Prometheus (Debian's, `make monitoring`) scrapes a running instance; the test reads
back, through Prometheus's HTTP API, counters it caused. The shipped `deploy/` files pass
`promtool`.

The instance runs two uvicorn workers in multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`), so
whichever worker answers a scrape, the counts are the sum of both: Prometheus must read
exactly the requests the test sent. It scrapes twice over: `/metrics` on the app's port
with a bearer token from a file, as `deploy/prometheus.yml` shows, and `METRICS_PORT`
without one.
"""

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.instances import app_environment, init_database
from tests.support.server import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
SENT = 7  # requests to one route, counted by whichever worker answered each


def promtool(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(
        [str(PROMTOOL), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_shipped_rules_and_configuration_pass_promtool() -> None:
    assert "SUCCESS: 6 rules found" in promtool("check", "rules", "deploy/alerts.yml")
    # The token file it names lives on the Prometheus host: its syntax here, and the
    # whole check (the rule files it names, the token file) on the test's own copy below.
    promtool("check", "config", "--syntax-only", "deploy/prometheus.yml")


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path, **options: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        with suppress(httpx.TransportError):
            if httpx.get(url, timeout=5, **options).status_code == 200:
                return
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def app_instance(tmp: Path) -> Iterator[tuple[str, int, dict[str, str]]]:
    """The app on SQLite, two workers in multiprocess mode, METRICS_PORT set; yield its
    base URL, its metrics port and its environment."""
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    env = app_environment(f"sqlite:///{tmp / 'app.db'}")
    init_database(env)
    port, metrics_port = free_port(), free_port()
    env |= {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_PORT": str(metrics_port)}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--no-proxy-headers"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    log = tmp / "app.log"
    with running(command, env, log) as process:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/readyz", process, log)
        wait_for(f"http://127.0.0.1:{metrics_port}/metrics", process, log)
        yield base, metrics_port, env


def configuration(tmp: Path, app: str, metrics_port: int, token_file: Path) -> Path:
    """`deploy/prometheus.yml` pointed at the test's instance: its two jobs' targets, the
    token file, a one-second scrape; its rule file beside it."""
    shipped = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    shipped["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
    jobs = {job["job_name"]: job for job in shipped["scrape_configs"]}
    jobs["crud"]["static_configs"] = [{"targets": [app.removeprefix("http://")]}]
    jobs["crud"]["authorization"]["credentials_file"] = str(token_file)
    jobs["crud-private"]["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump(shipped))
    shutil.copy(DEPLOY / "alerts.yml", tmp / "alerts.yml")
    return config


def query(prometheus: str, expression: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expression}, timeout=10)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def settles(prometheus: str, expression: str, want: float, seconds: float = 30) -> None:
    """Wait until the expression's single value is `want` (scrapes come every second)."""
    deadline = time.monotonic() + seconds
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        found = query(prometheus, expression)
        if found and float(found[0]["value"][1]) == want:
            return
        time.sleep(0.5)
    raise AssertionError(f"{expression}: {found}, wanted {want}")


def test_prometheus_reads_back_the_counters_the_test_caused(tmp_path: Path) -> None:
    with app_instance(tmp_path) as (base, metrics_port, env):
        api = httpx.Client(base_url=f"{base}/api/v1", timeout=30)
        token = api.post("/auth/token", json={"username": "admin", "password": "admin123"})
        assert token.status_code == 200, token.text
        token_file = tmp_path / "crud-token"
        token_file.write_text(token.json()["access_token"])
        demo = api.post("/auth/token", json={"username": "demo", "password": "demo123"})
        demo_auth = {"Authorization": f"Bearer {demo.json()['access_token']}"}

        config = configuration(tmp_path, base, metrics_port, token_file)
        promtool("check", "config", str(config))  # the whole check: token and rule files
        port = free_port()
        prometheus = f"http://127.0.0.1:{port}"
        command = [str(PROMETHEUS), f"--config.file={config}"]
        command += [f"--storage.tsdb.path={tmp_path / 'data'}"]
        command += [f"--web.listen-address=127.0.0.1:{port}"]
        with running(command, env, tmp_path / "prometheus.log") as process:
            wait_for(f"{prometheus}/-/ready", process, tmp_path / "prometheus.log")
            for job in ("crud", "crud-private"):
                settles(prometheus, f'sum(up{{job="{job}"}})', 1)
            for _ in range(SENT):
                answer = api.get("/tags", headers=demo_auth)
                assert answer.status_code == 200, answer.text
            denied = api.get("/roles", headers=demo_auth)  # demo holds no role:read
            assert denied.status_code == 403
            for job in ("crud", "crud-private"):
                route = f'job="{job}",method="GET",route="/api/v1/tags",status="200"'
                settles(prometheus, f"sum(crud_http_requests_total{{{route}}})", SENT)
                outcome = f'job="{job}",model="role",action="read",outcome="denied"'
                settles(prometheus, f"sum(crud_authz_decisions_total{{{outcome}}})", 1)
            rules = httpx.get(f"{prometheus}/api/v1/rules", timeout=10).json()
            names = {rule["name"] for group in rules["data"]["groups"] for rule in group["rules"]}
            assert "CrudPolicyReloadFailing" in names
