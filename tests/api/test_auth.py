"""Registration, login, logout, the current user, and the life of a login session."""

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import bcrypt
import httpx
import pytest
from sqlalchemy import func, select, update

from app.core.database import utcnow
from app.models import Session as SessionRow
from app.models import User
from tests.conftest import Backend
from tests.support.checks import db, guarded
from tests.support.factories import unique

HEX64 = re.compile(r"[0-9a-f]{64}")
BAD_LOGIN = {"detail": "Incorrect username or password"}


@pytest.fixture
def client_factory(
    client_factory: Callable[[], httpx.Client],
) -> Callable[[], httpx.Client]:
    """Make clients that fail the test on any 5xx."""
    return guarded(client_factory)


def register(client: httpx.Client, **fields: Any) -> httpx.Response:
    """Register with valid defaults, overridden by `fields`."""
    name = unique("reg")
    body = {"username": name, "email": f"{name}@example.com", "password": "password123"}
    return client.post("/auth/register", json=body | fields)


def token_of(client: httpx.Client) -> str:
    """Return the session cookie the client holds."""
    token = client.cookies.get("session_id")
    assert token, "no session cookie"
    return token


def me_with(client: httpx.Client, cookie: str) -> httpx.Response:
    """Call /auth/me sending exactly `cookie` as the Cookie header."""
    return client.get("/auth/me", headers={"Cookie": cookie})


def sessions_of(live: Backend, username: str) -> list[Any]:
    """Return the session rows of `username`, straight from the database."""
    with db(live.settings) as connection:
        return list(
            connection.execute(
                select(SessionRow)
                .join(User, User.id == SessionRow.user_id)
                .where(User.username == username)
                .order_by(SessionRow.id)
            )
        )


def session_count(live: Backend) -> int:
    with db(live.settings) as connection:
        return connection.scalar(select(func.count()).select_from(SessionRow)) or 0


def age_sessions(live: Backend, username: str, **values: Any) -> None:
    """Set columns of every session row of `username` directly in the database."""
    with db(live.settings) as connection:
        user_id = connection.scalar(select(User.id).where(User.username == username))
        connection.execute(update(SessionRow).where(SessionRow.user_id == user_id).values(values))


def stored_hash(live: Backend, username: str) -> str:
    with db(live.settings) as connection:
        value = connection.scalar(select(User.hashed_password).where(User.username == username))
    assert value is not None
    return value


# Registration


def test_register_creates_user_with_default_role(anon: httpx.Client) -> None:
    response = register(anon, username="newcomer", email="newcomer@example.com", full_name="N C")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["username"] == "newcomer"
    assert body["email"] == "newcomer@example.com"
    assert body["full_name"] == "N C"
    assert body["is_active"] is True
    assert body["roles"] == ["user"]
    assert body["groups"] == []
    assert body["owner_user_id"] == body["id"]
    assert not {"password", "hashed_password"} & body.keys()
    assert "session_id" not in response.cookies


def test_registered_user_can_log_in(anon: httpx.Client, login: Callable[..., httpx.Client]) -> None:
    assert register(anon, username="fresh_one", password="s3cret-pass").status_code == 201
    me = login("fresh_one", "s3cret-pass").get("/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == "fresh_one"


def test_register_ignores_privileged_fields(anon: httpx.Client, admin: httpx.Client) -> None:
    admin_role = next(r["id"] for r in admin.get("/roles").json()["items"] if r["name"] == "admin")
    response = register(
        anon,
        role_ids=[admin_role],
        group_ids=[1],
        is_active=False,
        owner_user_id=1,
        hashed_password="x",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["roles"] == ["user"]
    assert body["groups"] == []
    assert body["is_active"] is True
    assert body["owner_user_id"] == body["id"]


@pytest.mark.parametrize("username", ["abc", "a" * 50, "A.b-c_9", "___", "1.2-3"])
def test_register_accepts_usernames(anon: httpx.Client, username: str) -> None:
    response = register(anon, username=username)
    assert response.status_code == 201, response.text
    assert response.json()["username"] == username


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 51, "", "with space", "tab\tname", "ümlaut", "semi;colon", "at@sign", "a/b"],
)
def test_register_rejects_usernames(anon: httpx.Client, username: str) -> None:
    response = register(anon, username=username)
    assert response.status_code == 422, response.text
    assert any(err["loc"][-1] == "username" for err in response.json()["detail"])


@pytest.mark.parametrize("password", ["", "1234567", "       "])
def test_register_rejects_short_passwords(anon: httpx.Client, password: str) -> None:
    response = register(anon, password=password)
    assert response.status_code == 422, response.text
    assert any(err["loc"][-1] == "password" for err in response.json()["detail"])


def test_register_accepts_eight_character_password(
    anon: httpx.Client, login: Callable[..., httpx.Client]
) -> None:
    assert register(anon, username="eightchars", password="12345678").status_code == 201
    login("eightchars", "12345678")


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com", ""])
def test_register_rejects_invalid_email(anon: httpx.Client, email: str) -> None:
    response = register(anon, email=email)
    assert response.status_code == 422, response.text
    assert any(err["loc"][-1] == "email" for err in response.json()["detail"])


@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_register_requires_fields(anon: httpx.Client, missing: str) -> None:
    body = {"username": "someone", "email": "someone@example.com", "password": "password123"}
    del body[missing]
    response = anon.post("/auth/register", json=body)
    assert response.status_code == 422
    assert any(err["loc"] == ["body", missing] for err in response.json()["detail"])


def test_register_duplicate_username_conflicts(anon: httpx.Client) -> None:
    response = register(anon, username="demo")
    assert response.status_code == 409
    assert "username" in response.json()["detail"]


@pytest.mark.parametrize("email", ["demo@example.com", "DEMO@example.com", "Demo@Example.COM"])
def test_register_duplicate_email_conflicts_in_any_case(anon: httpx.Client, email: str) -> None:
    response = register(anon, email=email)
    assert response.status_code == 409, response.text
    assert "email" in response.json()["detail"]


def test_register_same_username_twice_conflicts(anon: httpx.Client) -> None:
    assert register(anon, username="twice").status_code == 201
    assert register(anon, username="twice").status_code == 409


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
        "/auth/login", json={"username": user["username"], "password": "password123"}
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
    assert len(body["permissions"]) == 11 * 4


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


# Password hashes


def test_passwords_are_hashed_with_argon2id(live: Backend, anon: httpx.Client) -> None:
    assert register(anon, username="hashed", password="password123").status_code == 201
    hashed = stored_hash(live, "hashed")
    assert hashed.startswith("$argon2id$")
    assert "password123" not in hashed


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
