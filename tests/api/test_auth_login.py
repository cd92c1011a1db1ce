"""Login, logout, the current user (/auth/me), and the password hashes login checks."""

import re
from typing import Any

import bcrypt
import httpx
import pytest
from sqlalchemy import select, update

from app.models import User
from app.resources import RESOURCES
from tests.conftest import Backend
from tests.support.auth import me_with, register, sessions_of, token_of
from tests.support.checks import db

pytestmark = pytest.mark.no_server_errors

BAD_LOGIN = {"detail": "Incorrect username or password"}


def stored_hash(live: Backend, username: str) -> str:
    with db(live.settings) as connection:
        value = connection.scalar(select(User.hashed_password).where(User.username == username))
    assert value is not None
    return value


# Login


def test_login_returns_user_and_sets_cookie(anon: httpx.Client) -> None:
    response = anon.post("/auth/login", json={"username": "demo", "password": "demo123"})
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "demo"
    assert body["roles"] == ["user"]
    assert body["last_login_at"] is not None
    assert not {"password", "hashed_password", "token", "token_hash"} & body.keys()
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith("session_id=")]
    attributes = {part.strip().split("=")[0].lower(): part for part in header.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=lax"
    assert attributes["path"].strip() == "Path=/"
    assert "secure" not in attributes  # served over plain http
    assert int(attributes["max-age"].split("=")[1]) > 0
    assert anon.get("/auth/me").json()["username"] == "demo"


def test_login_by_email_in_any_case(anon: httpx.Client) -> None:
    response = anon.post(
        "/auth/login", json={"username": "DEMO@Example.com", "password": "demo123"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "demo"


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "demo", "password": "wrong-password"},
        {"username": "nobody", "password": "demo123"},
        {"username": "nobody@example.com", "password": "demo123"},
        {"username": "demo", "password": "DEMO123"},
    ],
)
def test_login_failures_look_the_same(anon: httpx.Client, credentials: dict[str, str]) -> None:
    response = anon.post("/auth/login", json=credentials)
    assert response.status_code == 401
    assert response.json() == BAD_LOGIN
    assert "session_id" not in response.cookies


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "demo"}, {"password": "demo123"}, {"username": "", "password": ""}],
)
def test_login_with_missing_fields_is_422(anon: httpx.Client, body: dict[str, str]) -> None:
    assert anon.post("/auth/login", json=body).status_code == 422


def test_inactive_user_cannot_log_in(
    anon: httpx.Client, admin: httpx.Client, make_user: Any
) -> None:
    user, client = make_user()
    assert client.get("/auth/me").status_code == 200
    assert admin.put(f"/users/{user['id']}", json={"is_active": False}).status_code == 200
    response = anon.post(
        "/auth/login", json={"username": user["username"], "password": "tidal-parsnip-42"}
    )
    assert response.status_code == 401
    assert response.json() == BAD_LOGIN
    assert client.get("/auth/me").status_code == 401  # the open session stops working too


def test_every_login_opens_a_new_session(live: Backend, client_factory: Any) -> None:
    first, second = client_factory(), client_factory()
    for client in (first, second):
        response = client.post("/auth/login", json={"username": "demo", "password": "demo123"})
        assert response.status_code == 200
    assert token_of(first) != token_of(second)
    assert len(sessions_of(live, "demo")) == 2
    assert first.get("/auth/me").status_code == 200
    assert second.get("/auth/me").status_code == 200


def test_login_again_on_same_client_keeps_old_session(live: Backend, demo: httpx.Client) -> None:
    old = token_of(demo)
    assert demo.post("/auth/login", json={"username": "demo", "password": "demo123"}).is_success
    assert token_of(demo) != old
    assert len(sessions_of(live, "demo")) == 2


# Logout


def test_logout_deletes_session_and_cookie(live: Backend, demo: httpx.Client, anon: Any) -> None:
    token = token_of(demo)
    assert len(sessions_of(live, "demo")) == 1
    response = demo.post("/auth/logout")
    assert response.status_code == 204
    assert response.content == b""
    assert sessions_of(live, "demo") == []
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith("session_id=")]
    assert cleared and ("Max-Age=0" in cleared[0] or "expires=" in cleared[0].lower())
    assert demo.get("/auth/me").status_code == 401
    assert me_with(anon, f"session_id={token}").status_code == 401


def test_logout_ends_only_the_current_session(live: Backend, login: Any) -> None:
    first, second = login("demo", "demo123"), login("demo", "demo123")
    assert first.post("/auth/logout").status_code == 204
    assert first.get("/auth/me").status_code == 401
    assert second.get("/auth/me").status_code == 200
    assert len(sessions_of(live, "demo")) == 1


def test_logout_without_session_is_401(anon: httpx.Client) -> None:
    assert anon.post("/auth/logout").status_code == 401


def test_logout_twice_with_old_cookie_is_401(demo: httpx.Client, anon: httpx.Client) -> None:
    token = token_of(demo)
    assert demo.post("/auth/logout").status_code == 204
    response = anon.post("/auth/logout", headers={"Cookie": f"session_id={token}"})
    assert response.status_code == 401


# The current user


def test_me_requires_login(anon: httpx.Client) -> None:
    response = anon.get("/auth/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


def test_me_shows_roles_groups_and_permissions(demo: httpx.Client) -> None:
    response = demo.get("/auth/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "demo"
    assert body["roles"] == ["user"]
    assert body["groups"] == ["demo-team"]
    permissions = body["permissions"]
    assert all(isinstance(p, str) and re.fullmatch(r"\w+:\w+:\w+", p) for p in permissions)
    assert {
        "user:read:own",
        "user:update:own",
        "session:read:own",
        "session:delete:own",
        "customer:create:own",
        "customer:read:group",
        "tag:read:all",
    } <= set(permissions)
    assert not any(p.endswith(":all") and not p.startswith("tag:read") for p in permissions)
    assert not {"password", "hashed_password"} & body.keys()


def test_me_for_admin_lists_every_all_permission(admin: httpx.Client) -> None:
    body = admin.get("/auth/me").json()
    assert body["roles"] == ["admin"]
    assert "user:delete:all" in body["permissions"]
    assert "time_entry:create:all" in body["permissions"]
    assert len(body["permissions"]) == len(RESOURCES) * 4 + 2  # audit and metrics too
    assert {"audit:read:all", "metrics:read:all"} <= set(body["permissions"])


# Password hashes


def test_passwords_are_hashed_with_argon2id(live: Backend, anon: httpx.Client) -> None:
    assert register(anon, username="hashed", password="tidal-parsnip-42").status_code == 201
    hashed = stored_hash(live, "hashed")
    assert hashed.startswith("$argon2id$")
    assert "tidal-parsnip-42" not in hashed


def test_bcrypt_hash_verifies_and_is_upgraded(live: Backend, anon: Any, login: Any) -> None:
    legacy = bcrypt.hashpw(b"demo123", bcrypt.gensalt(rounds=4)).decode()
    with db(live.settings) as connection:
        connection.execute(
            update(User).where(User.username == "demo").values(hashed_password=legacy)
        )
    wrong = anon.post("/auth/login", json={"username": "demo", "password": "demo124"})
    assert wrong.status_code == 401
    assert stored_hash(live, "demo") == legacy
    login("demo", "demo123")
    upgraded = stored_hash(live, "demo")
    assert upgraded.startswith("$argon2id$")
    login("demo", "demo123")  # the new hash verifies too
    assert stored_hash(live, "demo") == upgraded


def test_unreadable_stored_hash_never_matches(live: Backend, anon: httpx.Client) -> None:
    with db(live.settings) as connection:
        connection.execute(
            update(User).where(User.username == "demo").values(hashed_password="not-a-hash")
        )
    response = anon.post("/auth/login", json={"username": "demo", "password": "demo123"})
    assert response.status_code == 401
    assert response.json() == BAD_LOGIN
