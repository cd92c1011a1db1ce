"""Session lifecycle: what a new password, a deactivation, a deletion and "sign out other
devices" end; and the guard that keeps someone able to manage users and roles."""

from collections.abc import Callable

import httpx
import pytest

from tests.support.factories import UserFactory

pytestmark = pytest.mark.no_server_errors

Login = Callable[[str, str], httpx.Client]


def bearer(
    client_factory: Callable[[], httpx.Client], username: str, password: str
) -> httpx.Client:
    """A client that sends a fresh bearer token of `username`, and no cookie."""
    client = client_factory()
    answered = client.post("/auth/token", json={"username": username, "password": password})
    assert answered.status_code == 200, answered.text
    client.headers["Authorization"] = f"Bearer {answered.json()['access_token']}"
    return client


def me(client: httpx.Client) -> int:
    return client.get("/auth/me").status_code


def demo_id(admin: httpx.Client) -> int:
    return admin.get("/users", params={"q": "demo"}).json()["items"][0]["id"]


# Changing one's own password


def test_own_password_change_needs_the_current_one(login: Login) -> None:
    demo = login("demo", "demo123")
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    missing = demo.put(url, json={"password": "tidal-new-pass"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "current_password"]
    wrong = demo.put(url, json={"password": "tidal-new-pass", "current_password": "nope-nope"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["msg"] == "is not your current password"
    assert login("demo", "demo123")  # nothing changed


def test_own_password_change_ends_other_sessions_and_tokens(
    login: Login, client_factory: Callable[[], httpx.Client]
) -> None:
    here, elsewhere = login("demo", "demo123"), login("demo", "demo123")
    script = bearer(client_factory, "demo", "demo123")
    url = f"/users/{here.get('/auth/me').json()['id']}"
    body = {"password": "tidal-new-pass", "current_password": "demo123"}
    assert here.put(url, json=body).status_code == 200
    assert (me(here), me(elsewhere), me(script)) == (200, 401, 401)
    assert (
        client_factory()
        .post("/auth/login", json={"username": "demo", "password": "demo123"})
        .status_code
        == 401
    )
    assert me(login("demo", "tidal-new-pass")) == 200


def test_wrong_current_passwords_are_throttled(login: Login) -> None:
    demo = login("demo", "demo123")
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    body = {"password": "tidal-new-pass", "current_password": "nope-nope"}
    statuses = [demo.put(url, json=body).status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]


def test_a_right_current_password_is_not_counted_as_a_guess(login: Login) -> None:
    """Each check is counted before it is made; a right one takes its count back."""
    demo = login("demo", "demo123")
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    wrong = {"full_name": "Demo", "password": "tidal-new-pass", "current_password": "nope-nope"}
    for _ in range(4):
        assert demo.put(url, json=wrong).status_code == 422
    for current, new in (("demo123", "tidal-new-pass"), ("tidal-new-pass", "tidal-newer-pass")):
        body = {"password": new, "current_password": current}
        assert demo.put(url, json=body).status_code == 200
    refused = demo.put(url, json=wrong | {"password": "tidal-third-pass"})
    assert refused.status_code == 422  # the fifth guess: checked, and now the limit
    assert demo.put(url, json=wrong).status_code == 429


def test_a_right_current_password_stays_taken_back_when_the_update_fails(
    login: Login,
) -> None:
    """The update refused after the password was checked (an email someone else has): the
    right password is still not counted as a guess."""
    demo = login("demo", "demo123")
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    wrong = {"password": "tidal-new-pass", "current_password": "nope-nope"}
    right = {"password": "tidal-new-pass", "current_password": "demo123"}
    statuses = [demo.put(url, json=wrong).status_code for _ in range(4)]
    statuses.append(demo.put(url, json=right | {"email": "admin@example.com"}).status_code)
    statuses += [demo.put(url, json=wrong).status_code for _ in range(2)]
    assert statuses == [422] * 4 + [409, 422, 429]


def test_an_email_change_alone_needs_no_password(login: Login) -> None:
    demo = login("demo", "demo123")
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    assert demo.put(url, json={"full_name": "Demo D."}).status_code == 200


# What an admin's change ends


@pytest.mark.parametrize(
    "change", [{"password": "tidal-reset-pass"}, {"is_active": False}], ids=["password", "off"]
)
def test_admin_change_ends_every_session_and_token(
    admin: httpx.Client, login: Login, client_factory: Callable[[], httpx.Client], change: dict
) -> None:
    sessions = [login("demo", "demo123"), login("demo", "demo123")]
    script = bearer(client_factory, "demo", "demo123")
    url = f"/users/{demo_id(admin)}"
    assert admin.put(url, json=change).status_code == 200
    assert [me(client) for client in [*sessions, script]] == [401, 401, 401]
    if change == {"is_active": False}:  # back on: the old token stays dead
        assert admin.put(url, json={"is_active": True}).status_code == 200
        assert me(script) == 401
    assert me(admin) == 200


def test_deleting_a_user_ends_their_sessions_and_tokens(
    admin: httpx.Client,
    make_user: UserFactory,
    client_factory: Callable[[], httpx.Client],
    login: Login,
) -> None:
    user, _ = make_user()
    session = login(user["username"], "tidal-parsnip-42")
    script = bearer(client_factory, user["username"], "tidal-parsnip-42")
    assert admin.delete(f"/users/{user['id']}").status_code == 204
    assert (me(session), me(script)) == (401, 401)


def test_sign_out_other_devices(login: Login, client_factory: Callable[[], httpx.Client]) -> None:
    here, elsewhere = login("demo", "demo123"), login("demo", "demo123")
    script = bearer(client_factory, "demo", "demo123")
    admin = login("admin", "admin123")
    mine = here.get("/sessions").json()["items"]
    assert len(mine) == 2 and {s["user_id"] for s in mine} == {mine[0]["user_id"]}
    assert here.delete("/sessions").status_code == 204
    assert (me(here), me(elsewhere), me(script), me(admin)) == (200, 401, 401, 200)
    assert len(here.get("/sessions").json()["items"]) == 1


# The last manager of users and roles


def roles_of(admin: httpx.Client) -> dict[str, dict]:
    return {role["name"]: role for role in admin.get("/roles").json()["items"]}


def permission_id(admin: httpx.Client, name: str) -> int:
    model, action, scope = name.split(":")
    found = admin.get("/permissions", params={"model": model, "action": action, "scope": scope})
    return found.json()["items"][0]["id"]


def refused(response: httpx.Response) -> None:
    assert response.status_code == 409, response.text
    assert "no active user could manage users and roles" in response.json()["detail"]


def test_the_only_admin_cannot_lock_everyone_out(admin: httpx.Client) -> None:
    me_ = admin.get("/auth/me").json()
    url = f"/users/{me_['id']}"
    roles = roles_of(admin)
    refused(admin.put(url, json={"role_ids": [roles["user"]["id"]]}))
    refused(admin.put(url, json={"is_active": False}))
    refused(admin.delete(url))
    admin_role = roles["admin"]
    kept = [p for p in admin_role["permission_ids"] if p != permission_id(admin, "user:update:all")]
    refused(admin.put(f"/roles/{admin_role['id']}", json={"permission_ids": kept}))
    refused(admin.delete(f"/roles/{admin_role['id']}"))
    needed = permission_id(admin, "role:update:all")
    refused(admin.delete(f"/permissions/{needed}"))
    own = permission_id(admin, "role:update:own")
    assert admin.delete(f"/permissions/{own}").status_code == 204  # frees the name below
    refused(admin.put(f"/permissions/{needed}", json={"scope": "own"}))
    after = admin.get("/auth/me").json()
    assert after["roles"] == ["admin"] and "role:update:all" in after["permissions"]
    assert admin.get(f"/roles/{admin_role['id']}").json() == admin_role


def test_with_another_admin_the_change_is_made(
    admin: httpx.Client, make_user: UserFactory, login: Login
) -> None:
    other, _ = make_user(roles=("admin",))
    url = f"/users/{admin.get('/auth/me').json()['id']}"
    assert admin.put(url, json={"role_ids": [roles_of(admin)["user"]["id"]]}).status_code == 200
    second = login(other["username"], "tidal-parsnip-42")
    refused(second.put(f"/users/{other['id']}", json={"is_active": False}))


def test_changes_that_keep_a_manager_are_not_refused(admin: httpx.Client) -> None:
    roles = roles_of(admin)
    manager = roles["manager"]
    assert admin.put(f"/roles/{manager['id']}", json={"permission_ids": []}).status_code == 200
    assert admin.delete(f"/roles/{manager['id']}").status_code == 204
