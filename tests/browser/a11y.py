"""What the accessibility tests share: axe-core's verdict on a page, the phone layout's
measurements, and a walk over every page of the app as one viewer sees it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Page

from app.resources import RESOURCES

# axe-core as the package on PyPI carries it (`axe.min.js`), injected from disk: no CDN.
AXE_SOURCE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 320, "height": 720}
DESKTOP = {"width": 1280, "height": 800}
HEADER_SHARE = 0.15  # of the phone's height, at most
TARGET_PX = 24  # WCAG 2.5.8: every control at least 24 x 24 CSS px
SITE = " · CRUD service"

# Every rule axe-core tags with a WCAG A or AA criterion, its experimental ones included
# (`label-content-name-mismatch`, WCAG 2.5.3, is one): `runOnly` by tag would skip those.
_AXE_RUN = """async (tags) => {
  const rules = axe.getRules(tags).map((rule) => rule.ruleId);
  const result = await axe.run(document, {
    runOnly: {type: "rule", values: rules},
    resultTypes: ["violations"],  // passes and the rest: one node each, not every one
  });
  return result.violations.map((v) => {
    const criteria = v.tags.filter((t) => /^wcag\\d{3,}$/.test(t)).join(" ");
    const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ");
    const more = v.nodes.length > 3 ? ` and ${v.nodes.length - 3} more` : "";
    return `${v.id} (${v.impact}, WCAG ${criteria}): ${v.help}; ${where}${more}`;
  });
}"""

_LAYOUT = """(target) => {
  const doc = document.documentElement;
  const header = document.querySelector("body > header");
  const controls = [...document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary")];
  const small = controls.filter((element) => {
    const box = element.getBoundingClientRect();
    if (!box.width && !box.height) return false;  // not shown (a closed menu's link)
    if (getComputedStyle(element).visibility === "hidden") return false;
    if (element.classList.contains("skip") && document.activeElement !== element) return false;
    return box.width < target || box.height < target;
  }).map((element) => {
    const box = element.getBoundingClientRect();
    const name = (element.textContent || element.name || element.id || "").trim().slice(0, 30);
    const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
    return `${element.tagName.toLowerCase()} "${name}" ${size}`;
  });
  return {
    scrollWidth: doc.scrollWidth,
    width: doc.clientWidth,
    header: header ? header.getBoundingClientRect().height : 0,
    small,
    title: document.title,
    h1: document.querySelector("h1")?.textContent.trim().replace(/\\s+/g, " ") ?? "",
  };
}"""


def install_axe(page: Page) -> None:
    """Have axe-core in every document the page loads (before the page's own scripts)."""
    page.context.add_init_script(AXE_SOURCE)


def axe_violations(page: Page) -> list[str]:
    """Return axe-core's WCAG 2.2 A and AA violations on the page, in words."""
    return page.evaluate(_AXE_RUN, WCAG_TAGS)


def layout_problems(page: Page, phone: bool) -> list[str]:
    """Return what is wrong with the page's layout and title: on a phone, sideways
    scrolling, a header over 15% of the screen and controls under 24 x 24 px; anywhere, a
    title that does not start with what the page's heading says."""
    found: dict[str, Any] = page.evaluate(_LAYOUT, TARGET_PX)
    problems = []
    if found["scrollWidth"] > found["width"]:
        problems.append(f"scrolls sideways: {found['scrollWidth']} px wide in {found['width']}")
    limit = HEADER_SHARE * (page.viewport_size or PHONE)["height"]
    if phone and found["header"] > limit:
        problems.append(f"header {found['header']:.0f} px tall, over {limit:.0f}")
    if found["small"]:
        small = found["small"]
        problems.append(f"{len(small)} controls under {TARGET_PX} px: {small[:5]}")
    title = found["title"].removeprefix("Error: ").removesuffix(SITE)
    if not found["title"].endswith(SITE) or not title.startswith(found["h1"]):
        problems.append(f"title {found['title']!r} does not name the page ({found['h1']!r})")
    return problems


def submit_without_script(page: Page, selector: str) -> None:
    """Post a form as a browser without script would (its `submit` handler skipped)."""
    with page.expect_navigation():
        page.locator(selector).first.evaluate("form => form.submit()")


def walk(page: Page, signed_in: bool) -> Iterator[str]:
    """Visit every kind of page the viewer can reach, yielding after each has loaded: the
    caller checks it. Signed out: sign-in and registration, with and without errors, and
    a page not found. Signed in: the dashboard, the audit log (or its refusal), a page not
    found, and for every resource its list (filtered too), new form (and with errors),
    a record's page, edit form, delete and bulk-delete confirmations; a role's preview."""

    def visit(url: str) -> Iterator[str]:
        page.goto(url)
        yield url

    if not signed_in:
        yield from visit("/login")
        page.locator("#username").fill("nobody")
        page.locator("#password").fill("wrong password")
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        yield "/login, refused"
        yield from visit("/register")
        with page.expect_navigation():
            page.get_by_role("button", name="Register").click()
        yield "/register, with errors"
        yield from visit("/no-such-page")
        return
    yield from visit("/dashboard")
    yield from visit("/audit")
    yield from visit("/audit?record_id=abc")  # a filter refused: the form's errors
    yield from visit("/no-such-page")
    for res in RESOURCES:
        # Ten rows: every row is built by the same code, and axe's time grows with the cells.
        response = page.goto(f"/{res.path}?limit=10")
        yield f"/{res.path}"
        if response is None or response.status != 200:
            continue  # the refusal (403) was checked
        first = page.locator("tbody tr a[href]").first
        record = first.get_attribute("href") if first.count() else None
        if page.locator(".filters").count():
            page.goto(f"/{res.path}?q=no-such-thing-anywhere")
            yield f"/{res.path}, nothing found"
        if page.locator("#bulk").count():
            page.locator('tbody input[name="ids"]').first.check()
            submit_without_script(page, "#bulk")
            yield f"/{res.path}/bulk-delete, to confirm"
        if page.goto(f"/{res.path}/new").status == 200:  # type: ignore[union-attr]
            yield f"/{res.path}/new"
            with page.expect_navigation():
                page.locator("form.form button[type=submit]").click()
            yield f"/{res.path}/new, with errors"
        if record is None:
            continue
        yield from visit(record)
        if page.locator("form[data-delete]").count():
            submit_without_script(page, "form[data-delete]")
            yield f"{record}/delete, to confirm"
        page.goto(record)
        if res.path == "roles" and page.locator(".matrix button[type=submit]").count():
            submit_without_script(page, ".matrix form")
            yield f"{record}/permissions, to confirm"
        if page.goto(f"{record}/edit").status == 200:  # type: ignore[union-attr]
            yield f"{record}/edit"
