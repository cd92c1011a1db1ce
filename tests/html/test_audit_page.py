"""The audit log page and a record's History: for holders of audit:read:all only."""

import httpx

from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import assert_html, location, page
from tests.support.records import Records


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


def test_bad_filters_are_said_at_their_fields(admin_browser: Browser) -> None:
    """A filter the log cannot apply (letters as a record id, a time that is none) comes
    back as the form's errors (422), at the fields and linked from the summary, the values
    kept; an address's own parameters (`limit`) are said above them; no entry is shown."""
    response = admin_browser.get("/audit?record_id=abc&since=soon&actor=ada&limit=999")
    assert_html(response, 422)
    shown = Page(response)
    assert shown.title.startswith("Error: Audit log")
    assert shown.errors() == {
        "record_id": "Enter record id as a whole number",
        "since": "Enter since as a date and time like 2026-01-31T09:30",
    }
    summary = shown.root.by_id("error-summary")
    assert summary is not None and "limit: at most 200." in summary.text()
    links = [a.attrs["href"] for a in summary.find_all("a")]
    assert links == ["#record_id", "#since"]
    for name in ("record_id", "since"):
        control = shown.root.by_id(name)
        assert control is not None and control.attrs.get("aria-invalid") == "true"
    assert shown.form().data()["actor"] == ["ada"] and shown.form().data()["record_id"] == ["abc"]
    assert shown.root.find("table") is None


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


def test_changes_name_the_records_they_refer_to(
    admin_browser: Browser, admin: httpx.Client, records: Records
) -> None:
    """`project_id: Old project → New project`, each linked; tags by name; a record that is
    gone shows the id it had."""
    old = records.create("projects", name="Old project")
    new = records.create("projects", name="New project")
    gone = records.create("tags", name="short-lived")
    task = records.create("tasks", project_id=old["id"], tag_ids=[gone["id"]])
    admin.put(f"/tasks/{task['id']}", json={"project_id": new["id"]})
    assert admin.delete(f"/tags/{gone['id']}").status_code == 204
    history = page(admin_browser, f"/tasks/{task['id']}").root.find(
        "section", **{"class": "history"}
    )
    assert history is not None
    items = [li for li in history.find_all("li") if li.find("code") is not None]
    project = next(
        li
        for li in items
        if li.find("code").text() == "project_id"  # type: ignore[union-attr]
        and "New project" in li.text()
    )
    assert project.text().endswith(": Old project → New project")
    links = [a.attrs["href"] for a in project.find_all("a")]
    assert links == [f"/projects/{old['id']}", f"/projects/{new['id']}"]
    tags = next(li for li in items if li.find("code").text() == "tag_ids")  # type: ignore[union-attr]
    assert tags.text().endswith(f": — → {gone['id']}"), "a deleted tag: the id it had"
    owner = next(li for li in items if li.find("code").text() == "owner_user_id")  # type: ignore[union-attr]
    assert owner.text().endswith(": — → admin")
