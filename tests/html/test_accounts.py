"""Accounts in the pages: a new password needs the current one, other devices can be signed
out, and no page can leave nobody able to manage users and roles."""

from collections.abc import Callable

import httpx

from tests.html.conftest import Browser
from tests.html.site import assert_html, csrf_token, follow_flash, location, page, submit


def own_form(browser: Browser) -> tuple[str, dict[str, list[str]]]:
    header = page(browser, "/dashboard").root.find("header")
    assert header is not None
    (url,) = [
        a.attrs["href"] for a in header.find_all("a") if a.attrs["href"].startswith("/users/")
    ]
    return url, page(browser, f"{url}/edit").form(url).data()


def test_own_password_change_on_the_page(
    demo_browser: Browser, signed_in: Callable[[str, str], Browser]
) -> None:
    elsewhere = signed_in("demo", "demo123")
    url, data = own_form(demo_browser)
    token = data["csrf_token"][0]
    missing = submit(demo_browser, url, data | {"password": ["tidal-new-pass"]}, token)
    assert_html(missing, 422)
    assert "Enter your current password" in missing.text
    wrong = data | {"password": ["tidal-new-pass"], "current_password": ["nope-nope"]}
    assert "is not your current password" in submit(demo_browser, url, wrong, token).text
    right = data | {"password": ["tidal-new-pass"], "current_password": ["demo123"]}
    follow_flash(demo_browser, submit(demo_browser, url, right, token), "saved.")
    assert location(elsewhere.get("/dashboard")) == "/login?next=/dashboard"
    assert page(demo_browser, "/dashboard").root is not None


def test_admin_editing_another_user_sees_no_current_password(admin_browser: Browser) -> None:
    form = page(admin_browser, "/users/2/edit").form("/users/2")
    assert "current_password" not in form.names()
    assert "password" in form.names()


def test_sign_out_other_devices_from_the_sessions_page(
    demo_browser: Browser, login: Callable[[str, str], httpx.Client]
) -> None:
    other = login("demo", "demo123")
    shown = page(demo_browser, "/sessions")
    form = shown.form("/sessions/revoke-others")
    response = submit(demo_browser, "/sessions/revoke-others", {}, form.data()["csrf_token"][0])
    follow_flash(demo_browser, response, "Other devices are signed out.")
    assert other.get("/auth/me").status_code == 401


def test_the_pages_refuse_to_lock_everyone_out(admin_browser: Browser) -> None:
    """The only admin's own role, deactivation, deletion and the admin role's matrix: 409."""
    url = "/users/1"
    data = page(admin_browser, f"{url}/edit").form(url).data()
    token = data["csrf_token"][0]
    for change in ({"role_ids": ["3"]}, {"is_active": []}):
        sent = {name: value for name, value in (data | change).items() if value != []}
        response = submit(admin_browser, url, sent, token)
        assert_html(response, 409)
        assert "no active user could manage users and roles" in response.text
    for method, action in (("POST", f"{url}/delete"), ("DELETE", url), ("POST", "/roles/1/delete")):
        confirmed = {"confirm": "1"} if method == "POST" else {}
        response = submit(admin_browser, action, confirmed, csrf_token(admin_browser), method)
        assert_html(response, 409)
    matrix = submit(admin_browser, "/roles/1/permissions", {"grant": ["tag:read:all"]}, token)
    assert_html(matrix, 409)
    assert "no active user could manage users and roles" in matrix.text
    box = page(admin_browser, "/roles/1").root.find("input", value="user:update:all")
    assert box is not None and "checked" in box.attrs  # still granted
