"""Times in the viewer's zone, named: their account's setting, else the zone their browser
reports (the `tz` cookie the pages' script sets), else UTC. Forms read a typed time as the
viewer's wall clock. Chromium's own zone is covered in `tests/browser/test_time_zones.py`."""

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import dump, fill_new, location, page, submit
from tests.support.factories import UserFactory
from tests.support.records import Records

DUE = "2026-06-01T10:00:00+00:00"  # summer: Berlin is UTC+2, New York UTC-4


def footer(shown: Page) -> str:
    element = shown.root.find("footer")
    assert element is not None
    return element.text()


def due_cell(shown: Page) -> str:
    times = [t for t in shown.root.find_all("time") if t.attrs.get("datetime") == DUE]
    assert times, "the due time is on the page, its UTC moment machine-readable"
    return times[0].text()


def test_times_show_in_the_browsers_zone_named(admin_browser: Browser, records: Records) -> None:
    task = records.create("tasks", due_at=DUE)
    url = f"/tasks/{task['id']}"
    shown = page(admin_browser, url)
    assert due_cell(shown) == "2026-06-01 10:00 UTC", "no zone known: UTC, said so"
    assert "Times are shown in UTC." in footer(shown)

    admin_browser.cookies.set("tz", "Asia/Tokyo")
    shown = page(admin_browser, url)
    assert due_cell(shown) == "2026-06-01 19:00 JST"
    assert "Times are shown in Asia/Tokyo (your browser's time zone)." in footer(shown)
    listed = page(admin_browser, f"/tasks?q={task['title']}")
    assert due_cell(listed) == "2026-06-01 19:00 JST", "lists show the same"


@pytest.mark.parametrize(
    "cookie", ["Mars/Olympus", "../../etc/localtime", "europe/berlin", "A" * 3000, ""]
)
def test_a_zone_the_machine_does_not_know_is_utc(
    cookie: str, admin_browser: Browser, records: Records
) -> None:
    task = records.create("tasks", due_at=DUE)
    admin_browser.cookies.set("tz", cookie)
    shown = page(admin_browser, f"/tasks/{task['id']}")
    assert due_cell(shown) == "2026-06-01 10:00 UTC"


def test_the_accounts_setting_wins_over_the_browser(
    demo_browser: Browser, demo: httpx.Client
) -> None:
    me = demo.get("/auth/me").json()
    assert me["time_zone"] is None, "unset: the browser's zone"
    url = f"/users/{me['id']}"
    edit = page(demo_browser, f"{url}/edit")
    picker = edit.form(url).control("time_zone")
    assert picker.options()[0] == ("", "Your browser's time zone")
    assert ("America/New_York", "America/New York") in picker.options()

    demo_browser.cookies.set("tz", "Asia/Tokyo")
    data = edit.form(url).data() | {"time_zone": ["America/New_York"]}
    saved = submit(demo_browser, url, data, edit.csrf_token)
    assert location(saved) == url
    assert demo.get("/auth/me").json()["time_zone"] == "America/New_York"
    task = demo.post(
        "/tasks", json={"title": "zoned", "project_id": own_project(demo), "due_at": DUE}
    )
    assert task.status_code == 201, task.text
    shown = page(demo_browser, f"/tasks/{task.json()['id']}")
    assert due_cell(shown) == "2026-06-01 06:00 EDT"
    assert "Times are shown in America/New_York (your setting)." in footer(shown)

    cleared = demo.put(url, json={"time_zone": None})
    assert cleared.status_code == 200 and cleared.json()["time_zone"] is None
    assert due_cell(page(demo_browser, f"/tasks/{task.json()['id']}")) == "2026-06-01 19:00 JST"


def own_project(demo: httpx.Client) -> int:
    found = demo.post("/projects", json={"name": "zone project"})
    assert found.status_code == 201, found.text
    return int(found.json()["id"])


def test_the_api_refuses_a_zone_it_does_not_know(demo: httpx.Client) -> None:
    url = f"/users/{demo.get('/auth/me').json()['id']}"
    refused = demo.put(url, json={"time_zone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["msg"] == "a time zone such as Europe/Berlin or UTC"
    assert demo.get("/auth/me").json()["time_zone"] is None


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-01-15T09:30", "2026-01-15T08:30:00+00:00"),  # winter: UTC+1
        ("2026-07-15T09:30", "2026-07-15T07:30:00+00:00"),  # summer: UTC+2
    ],
)
def test_a_time_typed_in_a_form_is_the_viewers_wall_clock(
    typed: str, stored: str, admin_browser: Browser, admin: httpx.Client, records: Records
) -> None:
    admin_browser.cookies.set("tz", "Europe/Berlin")
    new = page(admin_browser, "/tasks/new")
    data = fill_new(records, "tasks", new.form("/tasks").data()) | {"due_at": [typed]}
    created = submit(admin_browser, "/tasks", data, new.csrf_token)
    assert created.status_code == 303, created.text[:500]
    url = location(created)
    record = admin.get(url).json()
    assert record["due_at"] == stored
    shown = page(admin_browser, f"{url}/edit")
    edit = shown.form(url)
    assert edit.data()["due_at"] == [typed], "the edit form shows it as typed"
    again = submit(admin_browser, url, edit.data(), shown.csrf_token)
    assert location(again) == url
    assert admin.get(url).json()["due_at"] == stored, "saving the form unchanged moves nothing"


def test_the_audit_log_reads_and_shows_times_in_the_viewers_zone(
    admin_browser: Browser, records: Records, live: Backend
) -> None:
    records.create("tags", name="zoned-tag")
    admin_browser.cookies.set("tz", "Pacific/Kiritimati")  # UTC+14: tomorrow already
    shown = page(admin_browser, "/audit?resource=tags")
    assert shown.root.find("th", scope="col").text() == "When (Pacific/Kiritimati)"
    assert all(t.text().endswith("+14") for t in shown.root.find_all("time"))
    far = page(admin_browser, "/audit?resource=tags&until=2000-01-01T00:00")
    assert not far.root.find_all("time"), "until is read in the viewer's zone too"


@pytest.mark.parametrize("moment", ["2026-10-25T00:30:00+00:00", "2026-10-25T01:30:00+00:00"])
def test_a_time_the_clocks_repeat_is_kept_when_the_form_is_saved(
    moment: str, admin_browser: Browser, admin: httpx.Client, records: Records
) -> None:
    """In Berlin both moments read 02:30 (summer time ends at 03:00): saving the edit form
    unchanged keeps the stored one, whichever it is."""
    task = records.create("tasks", due_at=moment)
    url = f"/tasks/{task['id']}"
    admin_browser.cookies.set("tz", "Europe/Berlin")
    shown = page(admin_browser, f"{url}/edit")
    form = shown.form(url)
    assert form.data()["due_at"] == ["2026-10-25T02:30"]
    saved = submit(admin_browser, url, form.data() | {"title": ["renamed"]}, shown.csrf_token)
    assert location(saved) == url
    after = admin.get(url).json()
    assert after["title"] == "renamed" and after["due_at"] == moment


def test_a_time_before_standard_time_is_read_in_its_local_mean_time(
    admin_browser: Browser, admin: httpx.Client, records: Records
) -> None:
    """Berlin kept UTC+0:53:28 before 1893: a typed time then is stored as that moment."""
    admin_browser.cookies.set("tz", "Europe/Berlin")
    new = page(admin_browser, "/tasks/new")
    data = fill_new(records, "tasks", new.form("/tasks").data()) | {"due_at": ["1850-01-01T12:00"]}
    created = submit(admin_browser, "/tasks", data, new.csrf_token)
    assert created.status_code == 303, created.text[:500]
    assert admin.get(location(created)).json()["due_at"] == "1850-01-01T11:06:32+00:00"


def test_the_footer_offers_the_setting_only_to_who_may_change_it(
    signed_in: Callable[[str, str], Browser], make_user: UserFactory
) -> None:
    with_role, _ = make_user()
    without, _ = make_user(roles=())
    for user, offered in ((with_role, True), (without, False)):
        shown = page(signed_in(user["username"], "tidal-parsnip-42"), "/dashboard")
        links = [a.attrs.get("href") for a in shown.root.find("footer").find_all("a")]  # type: ignore[union-attr]
        assert (f"/users/{user['id']}/edit#time_zone" in links) is offered, user["username"]


def test_a_time_the_clocks_skip_is_refused_in_words(
    admin_browser: Browser, records: Records, live: Backend
) -> None:
    admin_browser.cookies.set("tz", "Europe/Berlin")
    new = page(admin_browser, "/tasks/new")
    data = fill_new(records, "tasks", new.form("/tasks").data())
    before = dump(live.settings)
    refused = submit(
        admin_browser,
        "/tasks",
        data | {"due_at": ["2026-03-29T02:30"], "title": [""]},
        new.csrf_token,
    )
    assert refused.status_code == 422
    shown = Page(refused)
    errors = shown.errors()
    assert (
        errors["due_at"] == "There is no 02:30 on 2026-03-29 in Europe/Berlin: the clocks skip it"
    )
    assert "title" in errors, "the other fields are checked all the same"
    assert shown.form("/tasks").data()["due_at"] == ["2026-03-29T02:30"], "kept as typed"
    assert dump(live.settings) == before
