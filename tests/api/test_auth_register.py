"""Registration: who may register, with what, and what a new account holds."""

import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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
    assert register(anon, username="eightchars", password="zq7#kp2m").status_code == 201
    login("eightchars", "zq7#kp2m")


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com", ""])
def test_register_rejects_invalid_email(anon: httpx.Client, email: str) -> None:
    response = register(anon, email=email)
    assert response.status_code == 422, response.text
    assert any(err["loc"][-1] == "email" for err in response.json()["detail"])


@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_register_requires_fields(anon: httpx.Client, missing: str) -> None:
    body = {"username": "someone", "email": "someone@example.com", "password": "tidal-parsnip-42"}
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


@pytest.mark.parametrize(
    "password", ["password", "12345678", "PassWord1", "qwertyuiop", "iloveyou"]
)
def test_register_refuses_common_passwords(anon: httpx.Client, password: str) -> None:
    """The bundled list of common passwords is checked in any case (NIST SP 800-63B)."""
    response = register(anon, password=password)
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert "most common passwords" in error["msg"]


def test_passwords_up_to_128_characters(anon: httpx.Client) -> None:
    assert register(anon, password="x" * 127 + "y").status_code == 201
    response = register(anon, password="x" * 128 + "y")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_password_whitespace_is_kept(anon: httpx.Client, client_factory: Callable) -> None:
    """Nothing is stripped: the spaces typed are part of the password."""
    name = "spaced_user"
    assert register(anon, username=name, password="  tidal-spaced  ").status_code == 201
    client = client_factory()
    trimmed = client.post("/auth/login", json={"username": name, "password": "tidal-spaced"})
    assert trimmed.status_code == 401
    typed = client.post("/auth/login", json={"username": name, "password": "  tidal-spaced  "})
    assert typed.status_code == 200, typed.text


def test_password_unicode_is_normalised(anon: httpx.Client, client_factory: Callable) -> None:
    """The same password typed as composed or decomposed characters is the same password."""
    composed = "café-naïve-mañana"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert register(anon, username="unicode_user", password=decomposed).status_code == 201
    client = client_factory()
    answered = client.post("/auth/login", json={"username": "unicode_user", "password": composed})
    assert answered.status_code == 200, answered.text


@pytest.mark.parametrize("username", ["DEMO", "Demo", "dEmO"])
def test_usernames_unique_in_any_case(
    anon: httpx.Client, admin: httpx.Client, username: str
) -> None:
    response = register(anon, username=username)
    assert response.status_code == 409, response.text
    assert "username" in response.json()["detail"]
    created = admin.post(
        "/users",
        json={"username": username, "email": "other@example.com", "password": "tidal-parsnip-42"},
    )
    assert created.status_code == 409, created.text
    renamed = admin.put("/users/1", json={"username": username})
    assert renamed.status_code == 409, renamed.text


def test_sign_in_by_username_in_any_case(client_factory: Callable) -> None:
    answered = client_factory().post(
        "/auth/login", json={"username": "DeMo", "password": "demo123"}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["username"] == "demo"


def test_concurrent_registrations_in_different_cases_give_one_account(
    client_factory: Callable,
) -> None:
    """The database's own index decides a race the checks before it cannot see."""
    names = ["racer", "RACER", "Racer", "rAcEr", "RaCeR", "racER", "RACer", "raCER"]

    def attempt(index: int) -> int:
        client = client_factory()
        return register(client, username=names[index], email=f"r{index}@example.com").status_code

    with ThreadPoolExecutor(len(names)) as pool:
        statuses = sorted(pool.map(attempt, range(len(names))))
    assert statuses == [201] + [409] * (len(names) - 1)
