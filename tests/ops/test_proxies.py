"""Whose word on where a request came from is taken: the peers TRUSTED_PROXIES names alone.

The suite's server trusts one loopback address (`PROXY`); a client bound to it stands for a
reverse proxy, any other client is its own peer, whatever headers it sends. What the app
records of an address (sessions, the sign-in throttle, the audit log) is one form of it: a
valid IP in its canonical text, anything else a short token.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.core.addresses import LONGEST, normalised_address
from app.core.config import PROJECT_ROOT, Settings
from app.models import LoginSession, User
from app.models.audit import AuditEntry
from tests.conftest import Backend
from tests.html.dom import Page
from tests.support.checks import db, fail_on_server_error
from tests.support.database import PROXY
from tests.support.server import free_port

RIGHT = {"username": "demo", "password": "demo123"}
WRONG = {"username": "demo", "password": "not-the-password"}


@contextmanager
def client_at(live: Backend, address: str) -> Iterator[httpx.Client]:
    """An API client connecting from `address` (a loopback one), failing on any 5xx."""
    transport = httpx.HTTPTransport(local_address=address)
    hooks = {"response": [fail_on_server_error]}
    base = f"{live.base_url}/api/v1"
    with httpx.Client(base_url=base, transport=transport, timeout=30, event_hooks=hooks) as client:
        yield client


def recorded_addresses(settings: Settings) -> tuple[list[str | None], list[str | None]]:
    """The addresses of demo's sessions, and of the audit log's sign-in entries for demo."""
    with db(settings) as connection:
        demo = connection.scalar(select(User.id).where(User.username == "demo"))
        sessions = connection.scalars(
            select(LoginSession.ip_address).where(LoginSession.user_id == demo)
        ).all()
        audited = connection.scalars(
            select(AuditEntry.address)
            .where(AuditEntry.record_id == demo, AuditEntry.event.like("sign_in%"))
            .order_by(AuditEntry.id)
        ).all()
    return list(sessions), list(audited)


def test_forwarded_headers_from_any_other_peer_are_ignored(live: Backend) -> None:
    forged = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    with client_at(live, "127.0.0.1") as direct:
        signed = direct.post("/auth/login", json=RIGHT, headers=forged)
    assert signed.status_code == 200
    assert "secure" not in signed.headers["set-cookie"].lower()
    assert recorded_addresses(live.settings) == (["127.0.0.1"], ["127.0.0.1"])


def test_a_forwarded_address_does_not_rotate_past_the_throttle(live: Backend) -> None:
    """Loopback is no proxy by default: a local process cannot pose as many addresses."""
    with client_at(live, "127.0.0.8") as local:
        for n in range(5):
            forged = {"X-Forwarded-For": f"198.51.100.{n}"}
            assert local.post("/auth/login", json=WRONG, headers=forged).status_code == 401
        forged = {"X-Forwarded-For": "198.51.100.99"}
        assert local.post("/auth/login", json=RIGHT, headers=forged).status_code == 429


def test_the_trusted_proxy_names_the_client(live: Backend) -> None:
    with client_at(live, PROXY) as proxy:
        # What the visitor sent is to the left; the proxy appends the peer it saw.
        forwarded = {"X-Forwarded-For": "10.9.9.9, 2001:DB8:0:0::7", "X-Forwarded-Proto": "https"}
        signed = proxy.post("/auth/login", json=RIGHT, headers=forwarded)
    assert signed.status_code == 200
    assert "secure" in signed.headers["set-cookie"].lower()
    assert recorded_addresses(live.settings) == (["2001:db8::7"], ["2001:db8::7"])


@pytest.mark.parametrize(
    "forwarded",
    ["a" * 100, "x" * 30 + " y<z>" + "w" * 65, "fe80::1%" + "e" * 60, "203.0.113.7" + "0" * 90],
)
def test_a_long_forwarded_address_is_kept_short_and_counted(live: Backend, forwarded: str) -> None:
    """From the trusted proxy, an address that is no IP (100 characters, say): sign-in works,
    failures are counted and logged, all under the one short token it stands for."""
    token = normalised_address(forwarded)
    assert token is not None and len(token) <= LONGEST
    with client_at(live, PROXY) as proxy:
        headers = {"X-Forwarded-For": forwarded}
        assert proxy.post("/auth/login", json=RIGHT, headers=headers).status_code == 200
        statuses = [
            proxy.post("/auth/login", json=WRONG, headers=headers).status_code for _ in range(6)
        ]
    assert statuses == [401] * 5 + [429]
    sessions, audited = recorded_addresses(live.settings)
    assert sessions == [token] and audited == [token] * 6


def test_make_run_believes_no_forwarded_header(tmp_path: Path) -> None:
    """`make run` (`python -m app.serve`) leaves uvicorn's proxy handling off: loopback is
    no proxy until TRUSTED_PROXIES names it."""
    for trusted, secured in (("", False), ("127.0.0.1", True)):
        with serving(tmp_path / f"run-{bool(trusted)}", trusted) as base:
            answer = httpx.get(f"{base}/healthz", headers={"X-Forwarded-Proto": "https"})
        assert ("strict-transport-security" in answer.headers) is secured, trusted


@contextmanager
def serving(tmp: Path, trusted: str) -> Iterator[str]:
    """Start `python -m app.serve` as `make run` does; yield its base URL once it answers."""
    tmp.mkdir()
    port = free_port()
    env = os.environ | {
        "ENVIRONMENT": "development",
        "HOST": "127.0.0.1",
        "CLAUDE_INTERNAL_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp}/app.db",
        "TRUSTED_PROXIES": trusted,
    }
    log = tmp / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.serve"], cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base, process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_for(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"app.serve did not answer: {log.read_text()}")


def test_the_sign_in_form_behind_the_proxy_takes_a_long_forwarded_address(
    live: Backend,
) -> None:
    """The pages' sign-in, from the trusted proxy with a 100-character X-Forwarded-For: the
    visitor is signed in, and the session keeps the short token the address stands for."""
    forwarded = "b" * 100
    proxy = httpx.HTTPTransport(local_address=PROXY)
    hooks = {"response": [fail_on_server_error]}
    with httpx.Client(base_url=live.base_url, transport=proxy, event_hooks=hooks) as browser:
        browser.headers["X-Forwarded-For"] = forwarded
        form = Page(browser.get("/login"))
        data = {"username": "demo", "password": "demo123", "csrf_token": form.csrf_token}
        signed = browser.post("/login", data=data)
    assert signed.status_code == 303 and signed.headers["location"] == "/dashboard"
    assert recorded_addresses(live.settings) == (
        [normalised_address(forwarded)],
        [normalised_address(forwarded)],
    )


@pytest.mark.parametrize(
    ("host", "kept"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2001:DB8:0:0::7", "2001:db8::7"),
        ("::ffff:192.0.2.1", "192.0.2.1"),  # an IPv4 client of a dual-stack socket
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("testclient", "testclient"),
        (None, None),
    ],
)
def test_an_address_is_kept_in_one_form(host: str | None, kept: str | None) -> None:
    assert normalised_address(host) == kept
