"""List pages: a page size to choose, and empty states that say what to do next; a form whose
required choice has nothing to choose from says which record to create first."""

from collections.abc import Callable
from urllib.parse import urlencode

from tests.html.conftest import Browser
from tests.html.site import page
from tests.support.factories import UserFactory
from tests.support.hostile import TAMPERED
from tests.support.records import Records

DUE = "2031-06-01T09:00:00+00:00"  # 23:00 at UTC+14


def rows(browser: Browser, path: str) -> int:
    return len(page(browser, path).root.find("tbody").find_all("tr"))  # type: ignore[union-attr]


def test_the_page_size_is_chosen_from_25_50_100(admin_browser: Browser, records: Records) -> None:
    for _ in range(30):
        records.create("tags")
    shown = page(admin_browser, "/tags")
    select = shown.root.by_id("limit")
    assert select is not None
    options = [o.attrs["value"] for o in select.find_all("option")]
    assert options == ["25", "50", "100"]
    assert "selected" in select.find("option", value="50").attrs  # type: ignore[union-attr]
    assert rows(admin_browser, "/tags?limit=25") == 25
    small = page(admin_browser, "/tags?limit=25")
    chosen = small.root.by_id("limit").find("option", value="25")  # type: ignore[union-attr]
    assert chosen is not None and "selected" in chosen.attrs
    following = small.root.find("nav", class_="pager").find_all("a")  # type: ignore[union-attr]
    assert any("limit=25" in a.attrs.get("href", "") for a in following), "pages keep the size"


def test_empty_lists_say_what_to_do_next(
    admin_browser: Browser, make_user: UserFactory, signed_in: Callable[[str, str], Browser]
) -> None:
    nothing = page(admin_browser, "/tags?q=no-such-tag-at-all")
    text = nothing.root.find("tbody").text()  # type: ignore[union-attr]
    assert "No tags match this search." in text
    assert nothing.root.find("a", href="/tags") is not None

    user, _ = make_user()
    browser = signed_in(user["username"], "tidal-parsnip-42")
    empty = page(browser, "/projects")
    text = empty.root.find("tbody").text()  # type: ignore[union-attr]
    assert "No projects yet. Create the first project" in text
    assert empty.root.find("a", href="/projects/new") is not None


def test_a_required_choice_with_nothing_to_choose_says_what_to_create(
    make_user: UserFactory, signed_in: Callable[[str, str], Browser]
) -> None:
    user, _ = make_user()
    browser = signed_in(user["username"], "tidal-parsnip-42")
    form = page(browser, "/tasks/new")
    hint = form.root.by_id("project_id-hint")
    assert hint is not None
    assert "There is no project you can choose yet: create a project first" in hint.text()
    assert hint.find("a", href="/projects/new") is not None


def test_lists_filter_by_owner_group_and_references_by_name(
    admin_browser: Browser, records: Records, make_user: UserFactory
) -> None:
    owner, _ = make_user()
    mine = records.create("tasks", owner_user_id=owner["id"], title="Owner's own task")
    records.create("tasks", title="Someone else's task")
    shown = page(admin_browser, "/tasks")
    select = shown.root.by_id("filter-owner_user_id")
    assert select is not None
    options = {o.text(): o.attrs["value"] for o in select.find_all("option")}
    assert options[owner["username"]] == str(owner["id"])
    assert shown.root.find("label", for_="filter-owner_user_id").text() == "Owner"  # type: ignore[union-attr]
    assert shown.root.by_id("filter-owner_group_id") is not None
    projects = shown.root.by_id("filter-project_id")
    assert projects is not None and projects.find_all("option")[1].text() != ""
    filtered = page(admin_browser, f"/tasks?owner_user_id={owner['id']}")
    body = filtered.root.find("tbody").text()  # type: ignore[union-attr]
    assert "Owner's own task" in body and "Someone else's task" not in body
    kept = filtered.root.by_id("filter-owner_user_id").find("option", value=str(owner["id"]))  # type: ignore[union-attr]
    assert kept is not None and "selected" in kept.attrs
    assert mine["owner_user_id"] == owner["id"]


def test_the_list_links_its_csv_export_with_its_filters(
    admin_browser: Browser, records: Records
) -> None:
    records.create("tags", name="exported-tag")
    shown = page(admin_browser, "/tags?q=exported&sort=-name")
    link = next(a for a in shown.root.find_all("a") if a.text() == "Export CSV")
    href = link.attrs["href"]
    assert href.startswith("/api/v1/tags?") and "format=csv" in href
    assert "q=exported" in href and "sort=-name" in href
    response = admin_browser.get(href)
    assert response.status_code == 200 and "exported-tag" in response.text


def test_lists_filter_by_tag_and_by_a_range_of_days(
    admin_browser: Browser, records: Records
) -> None:
    tag = records.create("tags", name="Urgent")
    tagged = records.create("tasks", title="Tagged task", tag_ids=[tag["id"]], due_at=DUE)
    records.create("tasks", title="Untagged task", due_at="2031-07-01T09:00:00Z")
    shown = page(admin_browser, "/tasks")
    tags = shown.root.by_id("filter-tag_id")
    assert tags is not None
    assert (tag["id"], "Urgent") in [
        (int(o.attrs["value"] or 0), o.text()) for o in tags.find_all("option")
    ]
    assert shown.root.find("label", for_="filter-tag_id").text() == "Tag"  # type: ignore[union-attr]
    for column in ("due_at", "completed_at", "created_at"):
        for bound in ("from", "to"):
            box = shown.root.by_id(f"filter-{column}_{bound}")
            assert box is not None and box.attrs["type"] == "date", column
    legends = [legend.text() for legend in shown.root.find_all("legend")]
    assert "Due at (UTC)" in legends

    filtered = page(
        admin_browser, f"/tasks?tag_id={tag['id']}&due_at_from=2031-06-01&due_at_to=2031-06-01"
    )
    body = filtered.root.find("tbody").text()  # type: ignore[union-attr]
    assert "Tagged task" in body and "Untagged task" not in body
    assert filtered.root.by_id("filter-due_at_from").attrs["value"] == "2031-06-01"  # type: ignore[union-attr]
    chosen = filtered.root.by_id("filter-tag_id").find("option", value=str(tag["id"]))  # type: ignore[union-attr]
    assert chosen is not None and "selected" in chosen.attrs
    link = next(a for a in filtered.root.find_all("a") if a.text() == "Export CSV")
    assert (
        f"tag_id={tag['id']}" in link.attrs["href"] and "due_at_to=2031-06-01" in link.attrs["href"]
    )
    exported = admin_browser.get(link.attrs["href"]).text.splitlines()
    assert len(exported) == 2 and exported[1].startswith(f"{tagged['id']},")

    admin_browser.cookies.set("tz", "Pacific/Kiritimati")
    there = page(admin_browser, "/tasks?due_at_from=2031-06-02&due_at_to=2031-06-02")
    assert "Tagged task" not in there.root.find("tbody").text()  # type: ignore[union-attr]
    there = page(admin_browser, "/tasks?due_at_from=2031-06-01&due_at_to=2031-06-01")
    assert "Tagged task" in there.root.find("tbody").text()  # type: ignore[union-attr]
    assert "Due at (Pacific/Kiritimati)" in [
        legend.text() for legend in there.root.find_all("legend")
    ]


def test_a_bad_day_in_a_list_filter_is_said_in_words(admin_browser: Browser) -> None:
    shown = page(admin_browser, "/tasks?due_at_from=31/12/2031", status=422)
    assert "due_at_from must be a date like 2026-01-31" in shown.root.text()


def test_hostile_list_links_get_a_page_in_words(
    admin_browser: Browser, demo_browser: Browser
) -> None:
    """A NUL byte in a filter or a search, a tampered cursor: a 422 page saying why."""
    for browser in (admin_browser, demo_browser):
        for link in ("/customers?name=%00", "/customers?q=a%00b", "/tasks?status=%00"):
            shown = page(browser, link, status=422)
            assert "without NUL bytes" in shown.root.text(), link
    shown = page(admin_browser, "/permissions?model=%00&scope=a%00b", status=422)
    assert "model: text without NUL bytes" in shown.root.text()
    assert "scope: text without NUL bytes" in shown.root.text()
    for path, sort, cursor in TAMPERED:
        shown = page(admin_browser, f"/{path}?{urlencode({'sort': sort, 'cursor': cursor})}", 422)
        assert "this page link is no longer valid" in shown.root.text(), (path, sort, cursor)
