"""Registration in a real browser: a new account with role `user`, signed in at once."""

import httpx
from playwright.sync_api import Page, expect

from tests.browser.helpers import SQLITE_ONLY, USER_NAV, arrive, expect_flash, nav_links

pytestmark = SQLITE_ONLY


def fill_registration(page: Page, username: str, email: str, password: str) -> None:
    """Fill the registration form and submit it."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Full name (optional)").fill("New Person")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Register").click()


def test_registration_creates_a_user_and_signs_them_in(page: Page, admin: httpx.Client) -> None:
    """Register from the sign-in page; land on the dashboard, welcomed, as a `user`."""
    page.goto("/login")
    page.get_by_role("main").get_by_role("link", name="Register").click()
    arrive(page, r"/register$")
    fill_registration(page, "newbie", "newbie@example.com", "newbie-pass-1")

    arrive(page, r"/dashboard$")
    expect_flash(page, "Your account is ready. Welcome!")
    expect(page.locator(".user-menu")).to_contain_text("New Person")
    assert nav_links(page) == USER_NAV
    found = admin.get("/users", params={"q": "newbie"}).json()["items"]
    assert [(u["username"], u["email"], u["roles"]) for u in found] == [
        ("newbie", "newbie@example.com", ["user"])
    ]

    page.reload()
    expect(page.locator(".flash")).to_have_count(0)  # the welcome is shown once
    page.locator(".user-menu").get_by_role("button", name="Sign out").click()
    arrive(page, r"/login$")
    page.get_by_label("Username or email").fill("newbie@example.com")
    page.get_by_label("Password").fill("newbie-pass-1")
    page.get_by_role("button", name="Sign in").click()
    arrive(page, r"/dashboard$")
    expect_flash(page, "Welcome, New Person.")


def test_invalid_registration_shows_messages_and_creates_nobody(
    page: Page, admin: httpx.Client
) -> None:
    """Refuse a taken username and a short password with messages next to the fields."""
    page.goto("/register")
    with page.expect_navigation() as navigation:
        fill_registration(page, "demo", "other@example.com", "short")
    response = navigation.value
    assert response is not None and response.status == 422
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("demo")
    expect(page.get_by_label("Email")).to_have_value("other@example.com")
    expect(page.get_by_label("Password")).to_have_value("")

    with page.expect_navigation() as navigation:
        fill_registration(page, "demo", "other@example.com", "long-enough-1")
    response = navigation.value
    assert response is not None and response.status == 422
    taken = "This username is already taken: enter another"
    expect(page.locator("#username-error")).to_have_text(taken)
    expect(page.locator("#password-error")).to_have_count(0)
    assert admin.get("/users", params={"q": "other@example.com"}).json()["total"] == 0
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
