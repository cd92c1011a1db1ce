"""The life of a login session: its token, its expiry, and cookies that name no session."""

import re
import secrets
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.core.database import utcnow
from app.models import LoginSession as SessionRow
from app.models import User
from tests.conftest import Backend
from tests.support.auth import me_with, sessions_of, token_of
from tests.support.checks import db

pytestmark = pytest.mark.no_server_errors

HEX64 = re.compile(r"[0-9a-f]{64}")


def session_count(live: Backend) -> int:
    with db(live.settings) as connection:
        return connection.scalar(select(func.count()).select_from(SessionRow)) or 0


def age_sessions(live: Backend, username: str, **values: Any) -> None:
    """Set columns of every session row of `username` directly in the database."""
    with db(live.settings) as connection:
        user_id = connection.scalar(select(User.id).where(User.username == username))
        connection.execute(update(SessionRow).where(SessionRow.user_id == user_id).values(values))


# Session tokens


def test_session_token_is_stored_only_as_a_hash(live: Backend, demo: httpx.Client) -> None:
    token = token_of(demo)
    [row] = sessions_of(live, "demo")
    assert HEX64.fullmatch(row.token_hash)
    assert row.token_hash != token
    assert token not in row.token_hash
    for value in row._mapping.values():
        assert str(value) != token
    assert len(token) >= 32


def test_stored_hash_does_not_work_as_cookie(live: Backend, demo: httpx.Client, anon: Any) -> None:
    [row] = sessions_of(live, "demo")
    assert me_with(anon, f"session_id={row.token_hash}").status_code == 401


def test_session_token_never_returned_by_api(live: Backend, client_factory: Any) -> None:
    client = client_factory()
    login = client.post("/auth/login", json={"username": "admin", "password": "admin123"})
    token = token_of(client)
    [row] = sessions_of(live, "admin")
    responses = [
        login,
        client.get("/auth/me"),
        client.get("/sessions"),
        client.get(f"/sessions/{row.id}"),
        client.get(f"/users/{login.json()['id']}"),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert token not in response.text
        assert row.token_hash not in response.text
        assert '"token' not in response.text
    listed = responses[2].json()["items"]
    assert [item["id"] for item in listed] == [row.id]
    assert not {"token", "token_hash"} & listed[0].keys()


# Expiry, enforced by the server


def test_idle_session_expires(live: Backend, demo: httpx.Client) -> None:
    idle = timedelta(minutes=live.settings.session_idle_minutes)
    age_sessions(live, "demo", last_seen_at=utcnow() - idle - timedelta(seconds=5))
    assert demo.get("/auth/me").status_code == 401
    assert sessions_of(live, "demo") == []


def test_recent_activity_keeps_session_alive(live: Backend, demo: httpx.Client) -> None:
    idle = timedelta(minutes=live.settings.session_idle_minutes)
    before = utcnow() - idle + timedelta(minutes=2)
    age_sessions(live, "demo", last_seen_at=before)
    assert demo.get("/auth/me").status_code == 200
    [row] = sessions_of(live, "demo")
    assert row.last_seen_at > before + timedelta(minutes=1)  # touched by the request


def test_absolute_expiry_ends_even_an_active_session(live: Backend, demo: httpx.Client) -> None:
    age_sessions(live, "demo", expires_at=utcnow() - timedelta(seconds=1), last_seen_at=utcnow())
    assert demo.get("/auth/me").status_code == 401
    assert sessions_of(live, "demo") == []


def test_session_expiry_matches_absolute_lifetime(live: Backend, demo: httpx.Client) -> None:
    [row] = sessions_of(live, "demo")
    lifetime = timedelta(hours=live.settings.session_absolute_hours)
    assert abs(row.expires_at - (row.created_at + lifetime)) < timedelta(minutes=1)


def test_expired_session_is_401_on_resources_too(live: Backend, demo: httpx.Client) -> None:
    age_sessions(live, "demo", expires_at=utcnow() - timedelta(seconds=1))
    assert demo.get("/customers").status_code == 401


def test_login_purges_expired_sessions(live: Backend, login: Any) -> None:
    demo_client = login("demo", "demo123")
    login("admin", "admin123")
    idle = timedelta(minutes=live.settings.session_idle_minutes)
    age_sessions(live, "demo", last_seen_at=utcnow() - idle - timedelta(minutes=1))
    age_sessions(live, "admin", expires_at=utcnow() - timedelta(seconds=1))
    assert session_count(live) == 2
    fresh = login("admin", "admin123")
    assert sessions_of(live, "demo") == []
    assert len(sessions_of(live, "admin")) == 1
    assert fresh.get("/auth/me").status_code == 200
    assert demo_client.get("/auth/me").status_code == 401


# Garbage cookies


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("session_id=" + "x" * 8000, id="very-long"),
        pytest.param("session_id=" + "x" * 257, id="just-too-long"),
        pytest.param('session_id="abc\\000def"', id="nul-escaped"),
        pytest.param("session_id=abc%00def", id="nul-percent"),
        pytest.param("session_id=" + secrets.token_urlsafe(32), id="random"),
        pytest.param("session_id=", id="empty"),
        pytest.param('session_id="', id="lone-quote"),
        pytest.param("session_id=a;session_id=b", id="twice"),
        pytest.param("session_id=\u00ff\u00fe", id="latin1"),
        pytest.param("session_id=%ZZ%", id="bad-percent"),
        pytest.param("=;;;session_id", id="no-value"),
    ],
)
def test_garbage_cookie_is_401(demo: httpx.Client, anon: httpx.Client, cookie: str) -> None:
    headers = {"Cookie": cookie.encode("latin-1")}
    for method, path in [("GET", "/auth/me"), ("POST", "/auth/logout"), ("GET", "/tags")]:
        response = anon.request(method, path, headers=headers)  # type: ignore[arg-type]
        assert response.status_code == 401, (path, response.text)
    assert demo.get("/auth/me").status_code == 200  # a real session is unaffected


def test_deactivation_ends_every_session_for_good(
    live: Backend, admin: httpx.Client, demo: httpx.Client
) -> None:
    """Deactivating deletes the user's sessions; reactivating does not bring them back."""
    demo_id = demo.get("/auth/me").json()["id"]
    assert sessions_of(live, "demo")

    assert admin.put(f"/users/{demo_id}", json={"is_active": False}).status_code == 200
    assert sessions_of(live, "demo") == []
    assert admin.put(f"/users/{demo_id}", json={"is_active": True}).status_code == 200

    assert demo.get("/auth/me").status_code == 401
    assert admin.get("/auth/me").status_code == 200  # only demo's sessions ended
