"""The policy as Chromium applies it: pages work under it (every browser test fails on a
violation, `conftest.py`), and what it forbids, the browser refuses."""

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Page

from tests.browser.helpers import SQLITE_ONLY, sign_in
from tests.conftest import Backend

pytestmark = SQLITE_ONLY


def test_injected_inline_script_does_not_run(browser: Browser, live: Backend) -> None:
    """Markup that slipped past escaping could not run a script: inline ones are refused."""
    context = browser.new_context(base_url=live.base_url)
    refused: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    context.on("console", console)
    page = context.new_page()
    page.goto("/login")
    page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.ran = true';
            document.body.append(script);
        }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.ran === undefined")
    assert any("script-src" in text for text in refused), refused
    context.close()


def test_pages_cannot_be_framed(browser: Browser, live: Backend) -> None:
    """A signed-in admin's permission matrix cannot be put in another site's frame."""
    context = browser.new_context(base_url=live.base_url)
    page = context.new_page()
    sign_in(page, "admin", "admin123")
    page.goto("about:blank")
    page.set_content(f'<iframe id="f" src="{live.base_url}/roles/1"></iframe>')
    page.wait_for_timeout(500)
    (framed,) = page.main_frame.child_frames
    assert framed.url.startswith("chrome-error://"), framed.url  # Chromium's refusal page
    assert page.frame_locator("#f").locator("form").count() == 0
    context.close()


def test_colour_swatches_are_painted_without_style_attributes(
    page: Page, admin: httpx.Client
) -> None:
    """Under a policy with no inline styles, the script paints each swatch from data-color."""
    admin.post("/tags", json={"name": "alarm", "color": "#ff0000"})
    sign_in(page, "admin", "admin123")
    page.goto("/tags")
    swatch = page.locator(".swatch").first
    assert swatch.get_attribute("style") == "background-color: rgb(255, 0, 0);"
    assert swatch.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 0, 0)"
