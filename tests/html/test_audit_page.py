"""The audit log page and a record's History: for holders of audit:read:all only."""

import httpx

from tests.html.conftest import Browser
from tests.html.site import location, page


def test_admin_reads_and_filters_the_log(admin_browser: Browser, admin: httpx.Client) -> None:
    tag = admin.post("/tags", json={"name": "logged"}).json()
    admin.put(f"/tags/{tag['id']}", json={"name": "logged-2"})
    shown = page(admin_browser, "/audit")
    nav = shown.root.find("header")
    assert nav is not None and any(a.attrs.get("href") == "/audit" for a in nav.find_all("a"))
    rows = shown.root.find("table").find_all("tr")  # type: ignore[union-attr]
    assert len(rows) > 3
    blank = "actor=&event=updated&resource=tags&record_id=&since=&until="
    filtered = page(admin_browser, f"/audit?{blank}").root.find("tbody").text()  # type: ignore[union-attr]
    assert "logged" in filtered and "logged-2" in filtered and "created" not in filtered


def test_a_record_shows_its_history(admin_browser: Browser, admin: httpx.Client) -> None:
    tag = admin.post("/tags", json={"name": "storied"}).json()
    admin.put(f"/tags/{tag['id']}", json={"color": "#abcdef"})
    history = page(admin_browser, f"/tags/{tag['id']}").root.find("section", **{"class": "history"})
    assert history is not None
    text = history.text()
    assert "created" in text and "updated" in text and "#abcdef" in text


def test_others_see_neither(demo_browser: Browser, browser: Browser, admin: httpx.Client) -> None:
    tag = admin.post("/tags", json={"name": "hidden-history"}).json()
    assert page(demo_browser, "/audit", 403).root is not None
    detail = page(demo_browser, f"/tags/{tag['id']}")  # tag:read:all, no audit:read:all
    assert detail.root.find("section", **{"class": "history"}) is None
    nav = detail.root.find("header")
    assert nav is not None and not any(a.attrs.get("href") == "/audit" for a in nav.find_all("a"))
    assert location(browser.get("/audit")) == "/login?next=/audit"
