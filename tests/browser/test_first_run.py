"""The first run with demo data (`python -m app.init_db --demo-data`, what `make demo` runs):
the dashboard shows records in every business table, different for admin and demo."""

from playwright.sync_api import Page, expect

from tests.browser.helpers import SQLITE_ONLY, ContextFactory, screenshot, sign_in
from tests.conftest import Backend
from tests.support.database import run_init_db

pytestmark = SQLITE_ONLY

BUSINESS = ["Customers", "Projects", "Tasks", "Tags", "Comments", "Time entries"]


def counts(page: Page) -> dict[str, int]:
    """Each dashboard card's label and count."""
    found = {}
    for card in page.locator(".card").all():
        label = card.get_by_role("heading").inner_text()
        found[label] = int(card.locator(".count span").inner_text().rstrip("+"))
    return found


def test_the_first_run_dashboard_shows_the_demo_company(
    new_context: ContextFactory, live: Backend
) -> None:
    loaded = run_init_db(live.settings.database_url, "--demo-data")
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    admin = new_context().new_page()
    sign_in(admin, "admin", "admin123")
    expect(admin.locator(".card").first).to_be_visible()
    screenshot(admin, "first-run-dashboard")
    seen_by_admin = counts(admin)
    demo = new_context().new_page()
    sign_in(demo, "demo", "demo123")
    seen_by_demo = counts(demo)
    for label in BUSINESS:
        assert seen_by_admin[label] > 0 and seen_by_demo[label] > 0, label
    assert seen_by_demo != seen_by_admin
    assert seen_by_demo["Tasks"] < seen_by_admin["Tasks"], "demo sees their own and their team's"
