"""A real nginx in the foreground, serving the sites a test gives it (`make proxy` installs it).

`MAIN` stands for a distribution's `/etc/nginx/nginx.conf`: one process, no daemon, and every
file nginx writes (pid, logs, temporary bodies) in the test's own directory. The sites go in
its `http` block, as `sites-enabled/*` would.
"""

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import stop

NGINX = Path("/usr/sbin/nginx")

MAIN = """
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{sites}
}}
"""


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text() if log.exists() else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


@contextmanager
def running(sites: str, tmp: Path, port: int) -> Iterator[str]:
    """Run nginx on `sites` (which listen on 127.0.0.1:`port`) until the block ends; yield
    its base URL once it listens. Its logs are `tmp`/error.log and `tmp`/access.log."""
    if not NGINX.exists():
        pytest.fail(f"{NGINX} is missing: the proxy tests need nginx (`make proxy`).")
    config = tmp / "nginx.conf"
    config.write_text(MAIN.format(tmp=tmp, sites=sites))
    log = tmp / "error.log"
    process = subprocess.Popen(
        [str(NGINX), "-p", str(tmp), "-e", str(log), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, timeout=10)
