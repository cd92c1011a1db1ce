"""Serve the app with uvicorn in a background thread, on a free loopback port."""

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from app.core.config import Settings
from app.main import create_app

# The app each running server serves, by base URL (a test sets its clock: `state.policy.clock`).
APPS: dict[str, Any] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Run the app for `settings` until the block ends; yield its base URL."""
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        proxy_headers=False,  # as every documented command: the app decides whom to believe
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    base_url = f"http://127.0.0.1:{port}"
    APPS[base_url] = app
    try:
        yield base_url
    finally:
        APPS.pop(base_url, None)
        server.should_exit = True
        thread.join(timeout=10)


def stop(process: "subprocess.Popen[bytes]", timeout: float = 20) -> None:
    """Ask a process of the tests' own to end (SIGTERM), and kill it if it will not."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
