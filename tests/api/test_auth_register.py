"""Registration: who may register, with what, and what a new account holds."""

from collections.abc import Callable

import httpx
import pytest

from tests.support.auth import register

pytestmark = pytest.mark.no_server_errors


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
