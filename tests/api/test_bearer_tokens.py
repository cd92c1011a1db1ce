"""Bearer tokens for scripts: the same decisions as the cookie; refused when expired,
tampered, of another audience or algorithm, or revoked."""

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import Backend

pytestmark = pytest.mark.no_server_errors


def token_for(client: httpx.Client, username: str, password: str) -> str:
    answered = client.post("/auth/token", json={"username": username, "password": password})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    assert "session_id" not in answered.cookies
    return body["access_token"]


def with_token(client: httpx.Client, token: str) -> httpx.Client:
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture
def scripted(client_factory: Callable[[], httpx.Client]) -> Callable[[str, str], httpx.Client]:
    def make(username: str, password: str) -> httpx.Client:
        client = client_factory()
        return with_token(client, token_for(client, username, password))

    return make


def test_token_claims(anon: httpx.Client, live: Backend) -> None:
    token = token_for(anon, "demo", "demo123")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"
    claims = jwt.decode(
        token, live.settings.secret_key, algorithms=["HS256"], audience="crud-service"
    )
    assert claims["sub"] == str(
        anon.post("/auth/login", json={"username": "demo", "password": "demo123"}).json()["id"]
    )
    assert claims["exp"] - claims["iat"] == pytest.approx(15 * 60, abs=1)


def test_same_decisions_as_the_cookie(
    scripted: Callable[[str, str], httpx.Client], login: Callable[[str, str], httpx.Client]
) -> None:
    token, cookie = scripted("demo", "demo123"), login("demo", "demo123")
    for path in ("/auth/me", "/tasks", "/roles", "/users", "/permissions", "/users/1"):
        by_token, by_cookie = token.get(path), cookie.get(path)
        assert by_token.status_code == by_cookie.status_code, path
        if by_token.status_code == 200:
            assert by_token.json() == by_cookie.json() or path == "/auth/me"
    assert token.post("/roles", json={"name": "mine"}).status_code == 403
    made = token.post("/tags", json={"name": "scripted"})  # no CSRF token: none is needed
    assert made.status_code == 201, made.text
    assert token.delete(f"/tags/{made.json()['id']}").status_code == 204


def test_wrong_password_and_throttling(anon: httpx.Client) -> None:
    body = {"username": "demo", "password": "not-the-password"}
    statuses = [anon.post("/auth/token", json=body).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def forge(secret: str, **changes: Any) -> str:
    now = time.time()
    claims = {"sub": "2", "aud": "crud-service", "iat": now, "exp": now + 600} | changes
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, secret, algorithm="HS256")


def unsigned(claims: dict[str, Any]) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_refused_tokens(anon: httpx.Client, live: Backend, client_factory: Callable) -> None:
    secret = live.settings.secret_key
    good = forge(secret)
    assert with_token(client_factory(), good).get("/auth/me").status_code == 200
    now = time.time()
    bad = {
        "expired": forge(secret, iat=now - 1000, exp=now - 10),
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "other audience": forge(secret, aud="another-service"),
        "no audience": forge(secret, aud=None),
        "no expiry": forge(secret, exp=None),
        "no subject": forge(secret, sub=None),
        "subject not a number": forge(secret, sub="admin"),
        "subject out of range": forge(secret, sub=str(2**40)),
        "unknown user": forge(secret, sub="999999"),
        "other key": forge("another-secret-key-of-32-bytes-or-more"),
        "alg none": unsigned({"sub": "2", "aud": "crud-service", "iat": now, "exp": now + 600}),
        "HS512": jwt.encode(
            {"sub": "2", "aud": "crud-service", "iat": now, "exp": now + 600}, secret, "HS512"
        ),
        "not a token": "x.y.z",
        "oversized": "a" * 5000,
    }
    for name, token in bad.items():
        answered = with_token(client_factory(), token).get("/auth/me")
        assert answered.status_code == 401, name


def test_tokens_work_for_the_api_only(anon: httpx.Client, live: Backend) -> None:
    """The pages take the session cookie only: a token there is an anonymous visit."""
    token = token_for(anon, "admin", "admin123")
    with httpx.Client(base_url=live.base_url) as site:
        page = site.get("/dashboard", headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_logout_with_a_token_revokes_the_users_tokens(
    client_factory: Callable[[], httpx.Client], login: Callable[[str, str], httpx.Client]
) -> None:
    first, second = client_factory(), client_factory()
    with_token(first, token_for(first, "demo", "demo123"))
    with_token(second, token_for(second, "demo", "demo123"))
    session = login("demo", "demo123")
    assert first.post("/auth/logout").status_code == 204
    assert (first.get("/auth/me").status_code, second.get("/auth/me").status_code) == (401, 401)
    assert session.get("/auth/me").status_code == 200  # a cookie session is not a token
    fresh = client_factory()
    assert with_token(fresh, token_for(fresh, "demo", "demo123")).get("/auth/me").status_code == 200


def test_a_token_for_an_inactive_user_is_refused(
    admin: httpx.Client, client_factory: Callable[[], httpx.Client]
) -> None:
    client = client_factory()
    with_token(client, token_for(client, "demo", "demo123"))
    demo = admin.get("/users", params={"q": "demo"}).json()["items"][0]["id"]
    assert admin.put(f"/users/{demo}", json={"is_active": False}).status_code == 200
    assert client.get("/auth/me").status_code == 401
    assert (
        client_factory()
        .post("/auth/token", json={"username": "demo", "password": "demo123"})
        .status_code
        == 401
    )
