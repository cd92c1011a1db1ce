"""Accessible to everyone and usable on a phone, checked in a real browser on the demo company.

Every page, as admin, as demo and signed out, on a desktop and at 320 x 720: no axe-core
violation of the WCAG 2.2 A and AA rules, no sideways scrolling, a header of at most 15% of a
phone's screen, every control at least 24 x 24 px, a title that names the page. Then what
axe cannot see: where focus goes on a form with errors, the menu and the filters folding on a
phone (and working without script), the permission grid's model column staying in place.
"""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.a11y import (
    DESKTOP,
    PHONE,
    axe_violations,
    install_axe,
    layout_problems,
    walk,
)
from tests.browser.helpers import SQLITE_ONLY, ContextFactory, screenshot, sign_in
from tests.conftest import Backend
from tests.support.database import run_init_db

pytestmark = SQLITE_ONLY

VIEWERS = {"admin": "admin123", "demo": "demo123", "anonymous": None}
# Every viewer on a phone (the harder layout); on a desktop, admin (who reaches every page
# there is) and the signed-out pages; the dark scheme (its own palette) as demo and signed out.
CASES = [
    *((viewer, "phone", "light") for viewer in VIEWERS),
    ("admin", "desktop", "light"),
    ("anonymous", "desktop", "light"),
    ("demo", "phone", "dark"),
    ("anonymous", "phone", "dark"),
]


@pytest.fixture
def company(live: Backend) -> Backend:
    """The live server with the demo company loaded (`make demo`'s data)."""
    loaded = run_init_db(live.settings.database_url, "--demo-data")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    return live


@pytest.mark.parametrize(("viewer", "size", "scheme"), CASES, ids=["-".join(c) for c in CASES])
def test_every_page_passes_axe_and_fits_the_screen(
    viewer: str, size: str, scheme: str, new_context: ContextFactory, company: Backend
) -> None:
    phone = size == "phone"
    viewport = PHONE if phone else DESKTOP
    page = new_context(viewport=viewport, color_scheme=scheme).new_page()
    install_axe(page)
    password = VIEWERS[viewer]
    if password is not None:
        sign_in(page, viewer, password)
    problems: dict[str, list[str]] = {}
    seen = 0
    for label in walk(page, signed_in=password is not None):
        seen += 1
        found = axe_violations(page) + layout_problems(page, phone)
        if found:
            problems[label] = found
    assert seen >= (5 if password is None else 30), f"only {seen} pages seen"
    assert not problems, "\n".join(f"{url}:\n  " + "\n  ".join(p) for url, p in problems.items())


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement?.id ?? ''")


def refused(page: Page, button: str, title: str, messages: list[str]) -> None:
    """Submit a form with the button named `button`; check it comes back as `title` with
    "Error:" before it, focus on the error summary, whose links say `messages`."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    expect(page).to_have_title(f"Error: {title} · CRUD service")
    assert focused_id(page) == "error-summary"
    summary = page.locator("#error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(messages)


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_a_form_with_errors_takes_focus_to_a_summary_that_links_to_each_field(
    script: bool, new_context: ContextFactory, company: Backend
) -> None:
    """GOV.UK's pattern: the title starts "Error:", focus lands on the summary (by
    `autofocus`, script or not), its links name what to do and lead to each field in the
    form's order, and each field is marked invalid and described by its message."""
    page = new_context(java_script_enabled=script).new_page()
    sign_in(page, "admin", "admin123")
    page.goto("/tasks/new")
    expect(page).to_have_title("New task · CRUD service")
    page.locator("#description").fill("Kept")
    page.locator("#priority").fill("9")
    refused(page, "Create", "New task", ["Enter a title", "Priority must be at most 5"])
    for field, message in (("title", "Enter a title"), ("priority", "Priority must be at most 5")):
        control = page.locator(f"#{field}")
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_attribute("aria-describedby", f"{field}-error")
        expect(page.locator(f"#{field}-error")).to_have_text(message)
    expect(page.locator("#description")).not_to_have_attribute("aria-invalid", "true")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Enter a title"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Priority must be at most 5"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert focused_id(page) == "title", "the link leads to its field"
    page.keyboard.press("Tab")
    assert focused_id(page) == "description", "tabbing goes on from the field"
    page.locator("#title").fill("Fixed")
    page.locator("#priority").fill("2")
    with page.expect_navigation():
        page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Task: Fixed")


def test_registration_ties_hints_and_messages_to_their_fields(
    new_context: ContextFactory, live: Backend
) -> None:
    page = new_context().new_page()
    page.goto("/register")
    expect(page.locator("#password")).to_have_attribute("aria-describedby", "password-hint")
    expect(page.locator("#username")).to_have_attribute("aria-describedby", "username-hint")
    page.locator("#username").fill("x")
    page.locator("#email").fill("not-an-email")
    email = "Enter email as an email address like name@example.com"
    messages = ["Username must be at least 3 characters", email, "Enter a password"]
    refused(page, "Register", "Create an account", messages)
    hints = {"username": "username-hint ", "email": "", "password": "password-hint "}
    for field, hint in hints.items():
        control = page.locator(f"#{field}")
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_attribute("aria-describedby", f"{hint}{field}-error")
    expect(page.locator("#full_name")).not_to_have_attribute("aria-invalid", "true")


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_on_a_phone_the_menu_and_the_filters_fold_and_open_without_script(
    script: bool, new_context: ContextFactory, company: Backend
) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=script).new_page()
    sign_in(page, "admin", "admin123")
    page.goto("/tasks")
    menu = page.locator("header summary")
    nav = page.get_by_role("navigation", name="Main")
    expect(menu).to_have_text("Menu")
    expect(nav).to_be_hidden()
    menu.click()
    expect(nav.get_by_role("link", name="Tags")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    nav.get_by_role("link", name="Tags").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tags")
    expect(nav).to_be_hidden()

    page.goto("/tasks")
    status = page.get_by_label("Status")
    expect(status).to_be_hidden()
    first_row = page.locator("tbody tr").first.bounding_box()
    assert first_row is not None and first_row["y"] < PHONE["height"], "no task on the first screen"
    page.get_by_text("Filters", exact=True).click()
    status.select_option("todo")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    expect(page.locator("details.filters > summary")).to_have_text("Filters (1 in use)")
    expect(page.get_by_label("Status")).to_be_visible()  # open while a filter is in use


def test_on_a_desktop_the_menu_and_the_filters_need_no_button(
    new_context: ContextFactory, live: Backend
) -> None:
    page = new_context(viewport=DESKTOP).new_page()
    sign_in(page, "admin", "admin123")
    page.goto("/tasks")
    expect(page.locator("header summary")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Tags")).to_be_visible()
    expect(page.locator("details.filters > summary")).to_be_hidden()
    expect(page.get_by_label("Status")).to_be_visible()


def test_the_permission_grid_keeps_its_model_column_while_scrolling_sideways(
    new_context: ContextFactory, live: Backend
) -> None:
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, "admin", "admin123")
    page.goto("/roles")
    page.get_by_role("link", name="user", exact=True).click()
    grid = page.get_by_role("region", name="Permission grid")
    model = grid.get_by_role("rowheader").first
    left = model.bounding_box()["x"]  # type: ignore[index]
    width = grid.evaluate("box => box.scrollWidth - box.clientWidth")
    assert width > 100, "the grid is wider than a phone"
    grid.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    assert grid.evaluate("box => box.scrollLeft") > 100
    assert model.bounding_box()["x"] == left  # type: ignore[index]
    expect(model).to_be_visible()
    # Named by what it shows ("all"), then the context a screen shows by its place.
    column = grid.get_by_role("button", name="all models: toggle delete all", exact=True)
    expect(column).to_have_count(1)


def test_phone_screenshots(new_context: ContextFactory, company: Backend) -> None:
    """What a 375 x 812 screen shows (test-artifacts/screenshots/phone-*.png, copied to
    docs/screenshots/): the dashboard, a list, a form with errors, a role's permission grid."""
    page = new_context(viewport={"width": 375, "height": 812}).new_page()
    sign_in(page, "admin", "admin123")
    screenshot(page, "phone-dashboard", full_page=False)
    page.goto("/tasks")
    screenshot(page, "phone-list", full_page=False)
    page.goto("/tasks/new")
    refused(page, "Create", "New task", ["Enter a title"])
    screenshot(page, "phone-form-with-errors", full_page=False)
    page.goto("/roles")
    page.get_by_role("link", name="manager", exact=True).click()
    heading = page.get_by_role("heading", name="Permissions")
    heading.evaluate("title => window.scrollBy(0, title.getBoundingClientRect().top - 8)")
    grid = page.get_by_role("region", name="Permission grid")
    grid.evaluate("box => { box.scrollLeft = 200; }")  # the model column stays
    screenshot(page, "phone-matrix", full_page=False)


def _luminance(rgb: str) -> float:
    """The relative luminance of a computed `rgb(r, g, b)` colour (WCAG 2.2)."""
    channels = [int(part) / 255 for part in rgb[rgb.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_field_borders_and_the_focus_ring_stand_out_at_3_to_1(
    scheme: str, new_context: ContextFactory, live: Backend
) -> None:
    """WCAG 1.4.11, which axe-core does not check: a field's border and the focus ring
    against the page behind them, in both colour schemes; an invalid field is marked by more
    than its colour (a bar beside it and its message)."""
    page = new_context(color_scheme=scheme).new_page()
    sign_in(page, "admin", "admin123")
    page.goto("/tasks/new")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    for selector in ("#title", "#project_id", "#description"):
        border = page.locator(selector).evaluate("e => getComputedStyle(e).borderTopColor")
        assert contrast(border, background) >= 3, f"{scheme} {selector}: {border} on {background}"
    page.keyboard.press("Tab")  # the skip link, then into the page
    page.keyboard.press("Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    width = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert width == "3px" and contrast(ring, background) >= 3, f"{scheme}: {ring} on {background}"
    with page.expect_navigation():
        page.get_by_role("button", name="Create").click()
    field = page.locator(".field.invalid").first
    bar = field.evaluate("e => getComputedStyle(e).borderLeftWidth")
    assert bar == "4px" and field.locator(".error").count() == 1
