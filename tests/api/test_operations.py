"""Operations: health and readiness, the API description, and what every response carries."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.models import LoginSession as SessionRow
from app.models import User
from app.resources import RESOURCES
from tests.conftest import Backend
from tests.support import database, server
from tests.support.checks import db, fail_on_server_error
from tests.support.database import PROXY
from tests.support.records import CREATABLE, Records

ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00:00")
TIMESTAMP_KEYS = {
    "created_at",
    "updated_at",
    "last_login_at",
    "expires_at",
    "last_seen_at",
    "due_at",
    "completed_at",
}


pytestmark = pytest.mark.no_server_errors


@pytest.fixture
def root(live: Backend) -> Iterator[httpx.Client]:
    """A client for the server root, outside `/api/v1`."""
    with httpx.Client(
        base_url=live.base_url, timeout=30, event_hooks={"response": [fail_on_server_error]}
    ) as client:
        yield client


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Yield every (key, value) pair of a JSON document, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# Health and readiness


def test_healthz(root: httpx.Client) -> None:
    response = root.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz(root: httpx.Client) -> None:
    response = root.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready" and set(body) == {"status", "policy_revision"}
    assert isinstance(body["policy_revision"], int) and body["policy_revision"] >= 1


def test_probes_need_no_login_and_ignore_cookies(root: httpx.Client) -> None:
    for path in ("/healthz", "/readyz"):
        assert root.get(path, headers={"Cookie": "session_id=garbage"}).status_code == 200


def test_probes_are_not_under_the_api_prefix(anon: httpx.Client) -> None:
    assert anon.get("/healthz").status_code == 404
    assert anon.get("/readyz").status_code == 404


def test_without_database_ready_fails_and_nothing_is_a_500() -> None:
    """Serve an app whose database refuses connections: alive, not ready, 503 not 500."""
    settings = database.test_settings(database_url="postgresql://postgres@127.0.0.1:1/unreachable")
    with server.serve(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable"}
        login = client.post("/api/v1/auth/login", json={"username": "a", "password": "b"})
        assert login.status_code == 503
        assert "detail" in login.json()
        listed = client.get("/api/v1/customers", headers={"Cookie": "session_id=whatever"})
        assert listed.status_code == 503


# The API description


def test_openapi_lists_every_resource(root: httpx.Client) -> None:
    response = root.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for res in RESOURCES:
        collection, item = f"/api/v1/{res.path}", f"/api/v1/{res.path}/{{id}}"
        assert "get" in paths[collection], res.path
        assert {"get", "delete"} <= paths[item].keys(), res.path
        assert ("post" in paths[collection]) == (res.create_schema is not None), res.path
        assert ("put" in paths[item]) == (res.update_schema is not None), res.path
    for call in ("register", "login", "logout", "me"):
        assert f"/api/v1/auth/{call}" in paths
    assert "delete" in paths["/api/v1/sessions"]


def test_openapi_never_describes_secrets(root: httpx.Client) -> None:
    spec = root.get("/openapi.json").json()
    keys = {key for key, _ in walk(spec)}
    assert "hashed_password" not in keys
    assert "token_hash" not in keys
    assert "token" not in keys
    read_schemas = [
        spec["components"]["schemas"][name]
        for name in ("UserRead", "Me", "SessionRead")
        if name in spec["components"]["schemas"]
    ]
    assert len(read_schemas) == 3
    for schema in read_schemas:
        assert not {"password", "hashed_password", "token"} & schema["properties"].keys()


def test_docs_page(root: httpx.Client) -> None:
    response = root.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "openapi.json" in response.text


def test_unknown_route_is_json_404(root: httpx.Client, anon: httpx.Client) -> None:
    for client, path in ((root, "/no/such/page.json"), (anon, "/no_such_resource")):
        response = client.get(path, headers={"Accept": "application/json"})
        assert response.status_code == 404
        assert "detail" in response.json()


# Timestamps


def check_timestamps(document: Any) -> int:
    """Assert every timestamp in `document` is ISO 8601 in UTC; return how many there were."""
    seen = 0
    for key, value in walk(document):
        if key in TIMESTAMP_KEYS and value is not None:
            assert isinstance(value, str) and ISO_UTC.fullmatch(value), (key, value)
            assert datetime.fromisoformat(value).utcoffset() == timedelta(0)
            seen += 1
    return seen


@pytest.mark.parametrize("path", CREATABLE)
def test_timestamps_are_iso_utc(admin: httpx.Client, records: Records, path: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    created = records.create(path)
    assert check_timestamps(created) >= 2
    assert datetime.fromisoformat(created["created_at"]) >= before
    assert datetime.fromisoformat(created["created_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
    assert check_timestamps(admin.get(f"/{path}/{created['id']}").json()) >= 2
    assert check_timestamps(admin.get(f"/{path}").json()) >= 2


def test_update_moves_updated_at(admin: httpx.Client, records: Records) -> None:
    created = records.create("customers")
    updated = admin.put(f"/customers/{created['id']}", json={"company": "Later Ltd"}).json()
    check_timestamps(updated)
    assert updated["created_at"] == created["created_at"]
    assert datetime.fromisoformat(updated["updated_at"]) >= datetime.fromisoformat(
        created["updated_at"]
    )


def test_session_and_login_timestamps(admin: httpx.Client) -> None:
    sessions = admin.get("/sessions").json()
    assert check_timestamps(sessions) == 4  # created, updated, expires, last seen
    me = admin.get("/auth/me").json()
    assert check_timestamps(me) == 3  # created, updated, last login


def test_task_timestamps_in_any_offset_come_back_in_utc(
    admin: httpx.Client, records: Records
) -> None:
    task = records.create(
        "tasks", due_at="2024-06-01T12:00:00-07:30", completed_at="2024-06-02T00:00:00Z"
    )
    assert task["due_at"] == "2024-06-01T19:30:00+00:00"
    assert task["completed_at"] == "2024-06-02T00:00:00+00:00"
    again = admin.get(f"/tasks/{task['id']}").json()
    assert (again["due_at"], again["completed_at"]) == (task["due_at"], task["completed_at"])


def test_dates_are_plain_dates(records: Records) -> None:
    project = records.create("projects", start_date="2024-01-02", due_date="2024-02-03")
    assert (project["start_date"], project["due_date"]) == ("2024-01-02", "2024-02-03")
    entry = records.create("time_entries")
    assert entry["spent_on"] == "2024-05-06"


# Secrets never leave the server


def test_users_never_carry_passwords(
    live: Backend, anon: httpx.Client, admin: httpx.Client, records: Records
) -> None:
    body = records.body("users")
    responses = [
        admin.post("/users", json=body),
        anon.post(
            "/auth/register",
            json={
                "username": "selfmade",
                "email": "self@example.com",
                "password": "tidal-parsnip-42",
            },
        ),
        anon.post("/auth/login", json={"username": "selfmade", "password": "tidal-parsnip-42"}),
        anon.get("/auth/me"),
        admin.get("/users"),
        admin.get("/users", params={"q": "selfmade"}),
        admin.get("/users/1"),
        admin.put("/users/2", json={"password": "another-pass", "full_name": "Demo"}),
        admin.get("/groups"),
    ]
    with db(live.settings) as connection:
        hashes = list(connection.scalars(select(User.hashed_password)))
    assert len(hashes) == 4
    for response in responses:
        assert response.is_success, response.text
        assert not {"password", "hashed_password"} & {key for key, _ in walk(response.json())}
        for hashed in hashes:
            assert hashed not in response.text
        assert "$argon2" not in response.text
        assert "tidal-parsnip-42" not in response.text


def test_sessions_never_carry_tokens(
    live: Backend, admin: httpx.Client, demo: httpx.Client
) -> None:
    with db(live.settings) as connection:
        rows = list(connection.execute(select(SessionRow.id, SessionRow.token_hash)))
    assert len(rows) == 2
    tokens = [client.cookies["session_id"] for client in (admin, demo)]
    responses = [admin.get("/sessions"), demo.get("/sessions")]
    responses += [admin.get(f"/sessions/{row.id}") for row in rows]
    responses += [admin.get("/sessions", params={"sort": "-last_seen_at", "q": "python"})]
    for response in responses:
        assert response.status_code == 200, response.text
        keys = {key for key, _ in walk(response.json())}
        assert not {"token", "token_hash", "session_id"} & keys
        for secret in [*tokens, *(row.token_hash for row in rows)]:
            assert secret not in response.text
    assert responses[0].json()["total"] == 2
    assert responses[1].json()["total"] == 1  # demo sees only their own


# Behind a TLS-terminating proxy


def session_cookie_flags(response: httpx.Response) -> list[str]:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("session_id=")]
    return [part.strip().lower() for part in cookie.split(";")]


def test_cookie_is_secure_behind_https_proxy(anon: httpx.Client, live: Backend) -> None:
    """The proxy named in TRUSTED_PROXIES says the visitor came over HTTPS; no one else can."""
    credentials = {"username": "demo", "password": "demo123"}
    https = {"X-Forwarded-Proto": "https"}
    proxy = httpx.HTTPTransport(local_address=PROXY)
    with httpx.Client(base_url=f"{live.base_url}/api/v1", transport=proxy) as behind:
        response = behind.post("/auth/login", json=credentials, headers=https)
    assert response.status_code == 200
    assert "secure" in session_cookie_flags(response)
    direct = anon.post("/auth/login", json=credentials, headers=https)
    assert direct.status_code == 200
    assert "secure" not in session_cookie_flags(direct)
