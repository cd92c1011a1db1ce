"""Every resource against every kind of caller: admin, owner, group member, stranger, anonymous."""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.resources import REGISTRY, RESOURCES
from tests.conftest import Backend
from tests.support.callers import Callers, permissions
from tests.support.factories import UserFactory
from tests.support.records import ALL, CHANGES, Records, own_fields, parent_reads

# Sessions come from logins and are never edited: every other resource has all five routes.
WRITABLE = [res.path for res in RESOURCES if res.update_schema is not None]
# What a caller creates and then owns; a new user row is owned by itself, not its creator.
OWNABLE = [path for path in WRITABLE if path != "users"]


@pytest.fixture
def guest(backend: Backend) -> Iterator[httpx.Client]:
    """Return a client without a session; no reset is needed, as it can write nothing."""
    with httpx.Client(base_url=f"{backend.base_url}/api/v1", timeout=30) as client:
        yield client


def ids(response: httpx.Response) -> set[int]:
    """Return the ids on a list page, insisting that the list succeeded."""
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def put_status(path: str, expected: int) -> int:
    """Return `expected`, or 405 for a resource without an update route."""
    return expected if REGISTRY[path].update_schema is not None else 405


def assert_updated(
    response: httpx.Response, before: dict[str, Any], change: dict[str, Any]
) -> None:
    """Check that the update changed `change` (and `updated_at`) and nothing else."""
    assert response.status_code == 200, response.text
    after = response.json()
    assert after == before | change | {"updated_at": after["updated_at"]}


@pytest.mark.parametrize("path", WRITABLE)
def test_admin_manages_any_record(path: str, admin: httpx.Client, records: Records) -> None:
    """Let admin list, create, read, update and delete; owners default to the caller."""
    admin_id = admin.get("/auth/me").json()["id"]
    body = records.body(path)
    created = admin.post(f"/{path}", json=body)
    assert created.status_code == 201, created.text
    record = created.json()
    sent = {key: value for key, value in body.items() if key != "password"}
    assert {key: record[key] for key in sent} == sent
    assert record["owner_user_id"] == (record["id"] if path == "users" else admin_id)
    assert record["owner_group_id"] is None  # admin belongs to no group
    url = f"/{path}/{record['id']}"

    assert record["id"] in ids(admin.get(f"/{path}", params={"limit": 200}))
    assert admin.get(url).json() == record
    updated = admin.put(url, json=CHANGES[path])
    assert_updated(updated, record, CHANGES[path])
    assert admin.get(url).json() == updated.json()

    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404
    assert record["id"] not in ids(admin.get(f"/{path}", params={"limit": 200}))


def test_admin_manages_any_session(
    admin: httpx.Client, demo: httpx.Client, records: Records
) -> None:
    """Let admin list, read and revoke anyone's login; sessions are never created or edited."""
    demo_id = demo.get("/auth/me").json()["id"]
    session = records.owned_by("sessions", demo_id)
    assert session["user_id"] == session["owner_user_id"] == demo_id
    assert not {"token", "token_hash"} & session.keys()
    url = f"/sessions/{session['id']}"

    assert session["id"] in ids(admin.get("/sessions"))
    assert admin.get(url).json() == session
    assert admin.post("/sessions", json={}).status_code == 405
    assert admin.put(url, json={}).status_code == 405
    assert admin.delete(url).status_code == 204
    assert admin.get(url).status_code == 404
    assert demo.get("/auth/me").status_code == 401


@pytest.mark.parametrize("path", OWNABLE)
def test_owner_manages_own_records(
    path: str, admin: httpx.Client, callers: Callers, records: Records
) -> None:
    """Let `<perm>:*:own` create a record it then owns, and list, read, update, delete it."""
    owner, client = callers(*permissions(path, "own"), *parent_reads(path, "own"))
    created = client.post(f"/{path}", json=records.body(path, owner_user_id=owner["id"]))
    assert created.status_code == 201, created.text
    record = created.json()
    assert (record["owner_user_id"], record["owner_group_id"]) == (owner["id"], None)
    url = f"/{path}/{record['id']}"

    assert ids(client.get(f"/{path}")) == {record["id"]}
    assert client.get(url).json() == record
    assert_updated(client.put(url, json=CHANGES[path]), record, CHANGES[path])
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert admin.get(url).status_code == 404


def test_demo_creates_customer(demo: httpx.Client) -> None:
    """Let the seeded `user` role create a customer and find it, alone, in its list."""
    created = demo.post("/customers", json={"name": "Acme"})
    assert created.status_code == 201, created.text
    listed = demo.get("/customers").json()
    assert [c["name"] for c in listed["items"]] == ["Acme"]


def test_user_manages_own_row(admin: httpx.Client, callers: Callers) -> None:
    """Let `user:*:own` read, update and delete its own row, but create no other user."""
    me, client = callers(*permissions("users", "own"))
    url = f"/users/{me['id']}"

    assert ids(client.get("/users")) == {me["id"]}
    record = client.get(url).json()
    assert record["owner_user_id"] == me["id"]
    assert client.post("/users", json=own_fields("users")).status_code == 403
    assert_updated(client.put(url, json=CHANGES["users"]), record, CHANGES["users"])
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 401  # the user's sessions went with the row
    assert admin.get(url).status_code == 404


def test_owner_manages_own_sessions(
    callers: Callers, client_factory: Callable[[], httpx.Client]
) -> None:
    """Let `session:{read,delete}:own` list, read and revoke the caller's other logins."""
    me, client = callers("session:read:own", "session:delete:own")
    second = client_factory()
    second.headers["User-Agent"] = "second-login"
    login = second.post(
        "/auth/login", json={"username": me["username"], "password": "tidal-parsnip-42"}
    )
    assert login.status_code == 200, login.text

    page = client.get("/sessions").json()["items"]
    assert len(page) == 2
    assert {item["user_id"] for item in page} == {me["id"]}
    other = next(item for item in page if item["user_agent"] == "second-login")
    url = f"/sessions/{other['id']}"
    assert client.get(url).json() == other
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert second.get("/auth/me").status_code == 401
    assert client.get("/auth/me").status_code == 200


@pytest.mark.parametrize("path", WRITABLE)
def test_group_member_acts_on_group_records(
    path: str,
    admin: httpx.Client,
    callers: Callers,
    make_user: UserFactory,
    records: Records,
) -> None:
    """Let `<perm>:*:group` act on another user's record owned by the caller's group only."""
    group, elsewhere = make_user.group(), make_user.group()
    role = callers.role(*permissions(path, "group", ("read", "update", "delete")))
    member, client = make_user(roles=(role["name"],), groups=(group["id"],))
    _, outsider = make_user(roles=(role["name"],), groups=(elsewhere["id"],))
    record = records.create(path, owner_group_id=group["id"])
    assert record["owner_user_id"] not in (None, member["id"])
    url = f"/{path}/{record['id']}"

    assert record["id"] not in ids(outsider.get(f"/{path}"))
    assert outsider.get(url).status_code == 404
    assert record["id"] in ids(client.get(f"/{path}"))
    assert client.get(url).json() == record
    assert_updated(client.put(url, json=CHANGES[path]), record, CHANGES[path])
    assert client.delete(url).status_code == 204
    assert admin.get(url).status_code == 404


def test_sessions_belong_to_no_group(
    callers: Callers, make_user: UserFactory, records: Records
) -> None:
    """Keep logins out of group scope: a session is owned by its user and no group."""
    group = make_user.group()
    teammate, teammate_client = make_user(groups=(group["id"],))
    _, client = callers("session:read:group", "session:delete:group", groups=(group["id"],))
    session = records.owned_by("sessions", teammate["id"])
    assert session["owner_group_id"] is None
    url = f"/sessions/{session['id']}"

    assert ids(client.get("/sessions")) == set()
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.delete("/sessions").status_code == 204
    assert teammate_client.get("/auth/me").status_code == 200


@pytest.mark.parametrize("path", ALL)
def test_strangers_see_nothing_and_readers_change_nothing(
    path: str, admin: httpx.Client, callers: Callers, records: Records
) -> None:
    """Hide others' records from `read:own` (404), refuse writes to its own (403), and
    refuse the list to a caller holding everything on the model but `read` (403)."""
    reader, client = callers(f"{REGISTRY[path].policy_model}:read:own")
    _, blind = callers(*permissions(path, "all", ("create", "update", "delete")))
    admin_id = admin.get("/auth/me").json()["id"]
    mine = records.owned_by(path, reader["id"])
    theirs = records.owned_by(path, admin_id)
    mine_url, theirs_url = f"/{path}/{mine['id']}", f"/{path}/{theirs['id']}"
    change = CHANGES.get(path, {})

    assert ids(client.get(f"/{path}")) == {mine["id"]}
    assert client.get(theirs_url).status_code == 404
    assert client.put(theirs_url, json=change).status_code == put_status(path, 404)
    assert client.delete(theirs_url).status_code == 404

    assert client.get(mine_url).status_code == 200
    assert client.put(mine_url, json=change).status_code == put_status(path, 403)
    assert client.delete(mine_url).status_code == 403
    assert admin.get(mine_url).json() == mine

    assert blind.get(f"/{path}").status_code == 403
    assert blind.get(theirs_url).status_code == 404
    assert blind.put(theirs_url, json=change).status_code == put_status(path, 404)
    assert blind.delete(theirs_url).status_code == 404
    assert admin.get(theirs_url).json() == theirs


@pytest.mark.parametrize("path", ALL)
def test_anonymous_is_refused(path: str, guest: httpx.Client) -> None:
    """Answer 401 to every call without a session cookie, before looking at body or id."""
    no_route = 401 if REGISTRY[path].create_schema is not None else 405
    assert guest.get(f"/{path}").status_code == 401
    assert guest.post(f"/{path}", json={}).status_code == no_route
    assert guest.get(f"/{path}/1").status_code == 401
    assert guest.put(f"/{path}/1", json={}).status_code == put_status(path, 401)
    assert guest.delete(f"/{path}/1").status_code == 401


def test_revoking_other_sessions_keeps_the_current_one(
    admin: httpx.Client,
    demo: httpx.Client,
    login: Callable[[str, str], httpx.Client],
    anon: httpx.Client,
    make_user: UserFactory,
) -> None:
    """End every session the caller may delete except the one making the call."""
    other = login("demo", "demo123")
    assert demo.delete("/sessions").status_code == 204
    assert demo.get("/auth/me").status_code == 200
    assert other.get("/auth/me").status_code == 401
    assert admin.get("/auth/me").status_code == 200  # demo may delete only its own

    third = login("demo", "demo123")
    assert admin.delete("/sessions").status_code == 204
    assert admin.get("/auth/me").status_code == 200
    assert demo.get("/auth/me").status_code == 401
    assert third.get("/auth/me").status_code == 401

    assert anon.delete("/sessions").status_code == 401
    _, powerless = make_user(roles=())
    assert powerless.delete("/sessions").status_code == 403
    assert powerless.get("/auth/me").status_code == 200
