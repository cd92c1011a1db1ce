"""The admin in a real browser: navigation and signing out, sessions, the permission matrix."""

import httpx
from playwright.sync_api import Page, expect

from app.core.permissions import ACTIONS, SCOPES
from app.resources import PERMISSION_MODELS
from tests.browser.helpers import (
    ALL_LABELS,
    SQLITE_ONLY,
    ContextFactory,
    accept_next_dialog,
    api_create,
    arrive,
    expect_flash,
    nav_links,
    screenshot,
    sign_in,
    value_of,
)

pytestmark = SQLITE_ONLY

EVERY = len(PERMISSION_MODELS) * len(ACTIONS) * len(SCOPES)  # boxes in a role's matrix


def test_admin_sees_every_resource_and_signs_out(page: Page) -> None:
    """Sign in through the form, see all twelve resources, and sign out from the user menu."""
    sign_in(page, "admin", "admin123")
    expect_flash(page, "Welcome, Administrator.")
    assert nav_links(page) == ["Dashboard", *ALL_LABELS, "Audit log"]
    cards = page.locator(".card h2").all_inner_texts()
    assert cards == ALL_LABELS
    screenshot(page, "dashboard")

    page.locator(".user-menu").get_by_role("button", name="Sign out").click()
    arrive(page, r"/login$")
    expect_flash(page, "You are signed out.")
    page.goto("/dashboard")
    arrive(page, r"/login\?next=/dashboard$")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)


def test_admin_views_and_revokes_another_session(page: Page, new_context: ContextFactory) -> None:
    """See both of the admin's sessions, open the other browser's one and revoke it."""
    sign_in(page, "admin", "admin123")
    other = new_context(user_agent="Second browser").new_page()
    sign_in(other, "admin", "admin123")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    expect(page.locator("main")).to_contain_text("2 records")
    page.get_by_role("searchbox", name="Search").fill("Second browser")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("main")).to_contain_text("1 record")
    page.locator("tbody tr").first.get_by_role("link").first.click()
    arrive(page, r"/sessions/\d+$")
    session_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Session: {session_id}")
    expect(value_of(page, "user_agent")).to_have_text("Second browser")
    expect(value_of(page, "ip_address")).to_have_text("127.0.0.1")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)

    accept_next_dialog(page)
    page.get_by_role("button", name="Delete", exact=True).click()
    arrive(page, r"/sessions$")
    expect_flash(page, f"Session “{session_id}” deleted.")
    expect(page.locator("main")).to_contain_text("1 record")
    expect(page.locator(f'tbody a[href="/sessions/{session_id}"]')).to_have_count(0)

    other.goto("/dashboard")
    arrive(other, r"/login\?next=/dashboard$")
    page.goto("/dashboard")
    arrive(page, r"/dashboard$")


def preview_shows(page: Page, user: str, gains: str, loses: str) -> None:
    """Check the preview page: nothing saved yet, and `user`'s row says what changes."""
    arrive(page, r"/roles/\d+/permissions$")
    expect(page.get_by_role("heading", name="Save these permissions?")).to_be_visible()
    row = page.locator("table.changes tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("th")).to_have_text(user)
    expect(row.locator("td")).to_have_text([gains, loses])


def test_admin_grants_and_revokes_with_the_permission_matrix(
    page: Page, new_context: ContextFactory
) -> None:
    """Check a box of the user role's matrix, see who would gain it, confirm, see it kept
    and obeyed; then uncheck it the same way."""
    demo = new_context().new_page()
    sign_in(demo, "demo", "demo123")
    assert "Roles" not in nav_links(demo)
    sign_in(page, "admin", "admin123")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Roles").click()
    page.get_by_role("link", name="user", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Role: user")
    matrix = page.locator("section.matrix")
    box = matrix.get_by_role("checkbox", name="role:read:all", exact=True)
    expect(box).not_to_be_checked()
    expect(matrix.get_by_role("checkbox", name="task:read:own", exact=True)).to_be_checked()
    expect(matrix).to_contain_text(f"33 of {EVERY} granted")

    box.check()
    screenshot(page, "permission-matrix")
    matrix.get_by_role("button", name="Save permissions").click()
    preview_shows(page, "demo", "role:read:all", "nothing")
    screenshot(page, "permission-preview")
    page.get_by_role("button", name="Confirm and save").click()
    arrive(page, r"/roles/\d+$")
    expect_flash(page, "Permissions saved.")
    page.reload()
    expect(box).to_be_checked()
    expect(matrix).to_contain_text(f"34 of {EVERY} granted")
    demo.reload()
    assert "Roles" in nav_links(demo)

    box.uncheck()
    matrix.get_by_role("button", name="Save permissions").click()
    preview_shows(page, "demo", "nothing", "role:read:all")
    page.get_by_role("button", name="Confirm and save").click()
    expect_flash(page, "Permissions saved.")
    page.reload()
    expect(box).not_to_be_checked()
    expect(matrix.get_by_role("checkbox", name="task:read:own", exact=True)).to_be_checked()
    expect(matrix).to_contain_text(f"33 of {EVERY} granted")
    demo.reload()
    assert "Roles" not in nav_links(demo)


def test_admin_previews_the_matrix_and_goes_back_unsaved(page: Page) -> None:
    """Uncheck a box, see demo would lose it, go back to the role: nothing was saved."""
    sign_in(page, "admin", "admin123")
    page.goto("/roles")
    page.get_by_role("link", name="user", exact=True).click()
    role_url = page.url
    box = page.locator("section.matrix").get_by_role("checkbox", name="task:read:own", exact=True)
    box.uncheck()
    page.get_by_role("button", name="Save permissions").click()
    preview_shows(page, "demo", "nothing", "task:read:own")
    page.get_by_role("link", name="Back to the role, unsaved").click()
    expect(page).to_have_url(role_url)
    expect(page.locator(".flash")).to_have_count(0)
    expect(box).to_be_checked()


def test_a_delete_without_script_asks_first(
    new_context: ContextFactory, admin: httpx.Client
) -> None:
    """With script off, Delete shows a page naming the record; Cancel keeps it, Delete ends it."""
    tag = api_create(admin, "tags", name="no-script-tag")
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, "admin", "admin123")
    page.goto(f"/tags/{tag['id']}")
    page.get_by_role("button", name="Delete", exact=True).click()
    arrive(page, rf"/tags/{tag['id']}/delete$")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete tag “no-script-tag”?")
    page.get_by_role("link", name="Cancel").click()
    arrive(page, rf"/tags/{tag['id']}$")
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("button", name="Delete", exact=True).click()
    arrive(page, r"/tags$")
    expect_flash(page, "Tag “no-script-tag” deleted.")
    assert admin.get(f"/tags/{tag['id']}").status_code == 404


def test_admin_adds_and_removes_a_role_member(page: Page) -> None:
    """The role's page lists its members; add one from the picker, see it, remove it."""
    sign_in(page, "admin", "admin123")
    page.goto("/roles")
    page.get_by_role("link", name="manager", exact=True).click()
    members = page.locator("section.members")
    expect(members).to_contain_text("Nobody holds this role yet.")
    page.get_by_label("Add a user").select_option(label="demo")
    page.get_by_role("button", name="Add", exact=True).click()
    expect_flash(page, "demo now holds manager.")
    expect(members.get_by_role("link", name="demo", exact=True)).to_have_count(1)
    screenshot(page, "role-members")
    members.get_by_role("button", name="Remove demo from manager").click()
    expect_flash(page, "demo no longer holds manager.")
    expect(members).to_contain_text("Nobody holds this role yet.")


def test_matrix_rows_and_columns_toggle_at_once(page: Page) -> None:
    """A model's row and an action's column are checked (or cleared) in one click; nothing
    is saved until the form is."""
    sign_in(page, "admin", "admin123")
    page.goto("/roles")
    page.get_by_role("link", name="manager", exact=True).click()
    matrix = page.locator("section.matrix")
    row = matrix.locator('input[name="grant"][value^="role:"]')
    expect(row.and_(page.locator(":checked"))).to_have_count(0)
    matrix.get_by_role("button", name="all actions of role: toggle", exact=True).click()
    expect(row.and_(page.locator(":checked"))).to_have_count(12)
    matrix.get_by_role("button", name="all actions of role: toggle", exact=True).click()
    expect(row.and_(page.locator(":checked"))).to_have_count(0)
    column = matrix.locator('input[name="grant"][value$=":delete:all"]')
    matrix.get_by_role("button", name="all models: toggle delete all", exact=True).click()
    expect(column.and_(page.locator(":checked"))).to_have_count(column.count())
    page.reload()  # nothing was saved
    expect(matrix.locator('input[name="grant"][value$=":delete:all"]:checked')).to_have_count(0)
