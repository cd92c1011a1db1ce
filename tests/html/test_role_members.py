"""A role's page lists who holds it, and an admin adds and removes members there: each change
is an update of the user through the one write path (checks, last-admin guard, audit log)."""

from collections.abc import Callable

import httpx

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.site import csrf_token, dump, follow_flash, location, page, submit
from tests.support.callers import Callers
from tests.support.factories import UserFactory


def role_id(admin: httpx.Client, name: str) -> int:
    found = admin.get("/roles", params={"q": name}).json()["items"]
    return next(role["id"] for role in found if role["name"] == name)


def member_names(browser: Browser, role: int) -> list[str]:
    section = page(browser, f"/roles/{role}").root.find("section", class_="members")
    assert section is not None
    return [a.text() for a in section.find_all("a")]


def test_members_are_listed_added_and_removed(
    admin_browser: Browser, admin: httpx.Client, make_user: UserFactory
) -> None:
    manager = role_id(admin, "manager")
    user, _ = make_user(roles=())
    assert member_names(admin_browser, manager) == []
    assert "demo" in member_names(admin_browser, role_id(admin, "user"))

    added = submit(
        admin_browser,
        f"/roles/{manager}/members",
        {"member_id": str(user["id"])},
        csrf_token(admin_browser),
    )
    assert location(added) == f"/roles/{manager}"
    follow_flash(admin_browser, added, f"{user['username']} now holds manager.")
    assert member_names(admin_browser, manager) == [user["username"]]
    assert admin.get(f"/users/{user['id']}").json()["role_ids"] == [manager]
    audit = admin.get("/audit", params={"event": "role_granted", "record_id": user["id"]}).json()[
        "items"
    ]
    assert [entry["changes"] for entry in audit] == [{"role_id": manager}]

    removed = submit(
        admin_browser,
        f"/roles/{manager}/members/{user['id']}/remove",
        {},
        csrf_token(admin_browser),
    )
    follow_flash(admin_browser, removed, f"{user['username']} no longer holds manager.")
    assert member_names(admin_browser, manager) == []
    assert admin.get(f"/users/{user['id']}").json()["role_ids"] == []


def test_the_only_admin_cannot_be_removed(
    admin_browser: Browser, admin: httpx.Client, live: Backend
) -> None:
    role = role_id(admin, "admin")
    me = admin.get("/auth/me").json()["id"]
    before = dump(live.settings)
    refused = submit(
        admin_browser, f"/roles/{role}/members/{me}/remove", {}, csrf_token(admin_browser)
    )
    assert refused.status_code == 409
    assert "no active user could manage users and roles" in refused.text
    assert dump(live.settings) == before


def test_bad_and_unauthorized_member_changes_change_nothing(
    admin_browser: Browser, demo_browser: Browser, admin: httpx.Client, live: Backend
) -> None:
    role = role_id(admin, "manager")
    before = dump(live.settings)
    token = csrf_token(admin_browser)
    odd = ("\u00b2", "\u2460", "\u2075", "\u0661", "\uff11", "1\u00b2", "1\x00")
    for chosen in ("", "abc", "-1", "99999999999999999999", *odd):
        sent = submit(admin_browser, f"/roles/{role}/members", {"member_id": chosen}, token)
        assert location(sent) == f"/roles/{role}"
        follow_flash(admin_browser, sent, "Choose a user to add.")
    missing = submit(admin_browser, f"/roles/{role}/members", {"member_id": "999999"}, token)
    assert missing.status_code == 404
    gone = submit(admin_browser, f"/roles/{role}/members/99999999999/remove", {}, token)
    assert gone.status_code in (404, 422)
    for raw in odd[:5]:
        odd_path = submit(admin_browser, f"/roles/{role}/members/{raw}/remove", {}, token)
        assert odd_path.status_code in (404, 422)
    no_token = submit(admin_browser, f"/roles/{role}/members", {"member_id": "1"}, None)
    assert no_token.status_code == 403
    demo = submit(
        demo_browser, f"/roles/{role}/members", {"member_id": "2"}, csrf_token(demo_browser)
    )
    assert demo.status_code == 403
    assert dump(live.settings) == before
    assert page(demo_browser, f"/roles/{role}", 403)


def test_a_member_gets_only_roles_whose_permissions_the_editor_holds(
    admin: httpx.Client,
    callers: Callers,
    signed_in: Callable[[str, str], Browser],
    live: Backend,
) -> None:
    """An editor of users adding themselves to the admin role: 403 naming what they do not
    hold, nothing written; a role within what they hold is added."""
    me, _ = callers("role:read:all", "user:read:all", "user:update:all", "tag:read:all")
    browser = signed_in(me["username"], "tidal-parsnip-42")
    admin_role = role_id(admin, "admin")
    before = dump(live.settings)
    sent = submit(
        browser, f"/roles/{admin_role}/members", {"member_id": str(me["id"])}, csrf_token(browser)
    )
    assert sent.status_code == 403
    assert "you may grant only what you hold" in sent.text and "user:delete:all" in sent.text
    assert dump(live.settings) == before
    readers = callers.role("tag:read:all")
    added = submit(
        browser,
        f"/roles/{readers['id']}/members",
        {"member_id": str(me["id"])},
        csrf_token(browser),
    )
    follow_flash(browser, added, f"{me['username']} now holds {readers['name']}.")
