"""Deleting without script asks first: the delete form's POST shows a page naming the record,
whose own form (CSRF token and `confirm`) deletes; Cancel goes back. The script's DELETE
asks in the browser (`tests/browser`)."""

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import csrf_token, dump, follow_flash, location, page, submit
from tests.support.records import Records


def test_a_delete_without_script_asks_for_confirmation(
    admin_browser: Browser, records: Records, live: Backend
) -> None:
    tag = records.create("tags", name="doomed-tag")
    url = f"/tags/{tag['id']}"
    before = dump(live.settings)
    asked = submit(admin_browser, f"{url}/delete", {}, csrf_token(admin_browser))
    assert asked.status_code == 200
    assert dump(live.settings) == before, "asking deletes nothing"
    shown = page(admin_browser, url)  # still there
    assert shown.heading == "Tag: doomed-tag"
    confirm = Page(asked)
    assert confirm.heading == "Delete tag “doomed-tag”?"
    form = confirm.root.find("form", action=f"{url}/delete")
    assert form is not None
    fields = {i.attrs.get("name"): i.attrs.get("value") for i in form.find_all("input")}
    assert fields["confirm"] == "1" and fields["csrf_token"]
    assert confirm.root.find("a", href=url) is not None, "Cancel goes back to the record"

    done = submit(admin_browser, f"{url}/delete", {"confirm": "1"}, fields["csrf_token"])
    assert location(done) == "/tags"
    follow_flash(admin_browser, done, "Tag “doomed-tag” deleted.")
    assert admin_browser.get(url).status_code == 404


def test_the_confirmation_needs_the_token_and_the_right(
    admin_browser: Browser, demo_browser: Browser, records: Records, live: Backend
) -> None:
    tag = records.create("tags")
    url = f"/tags/{tag['id']}/delete"
    before = dump(live.settings)
    assert submit(admin_browser, url, {"confirm": "1"}, None).status_code == 403
    assert submit(demo_browser, url, {}, csrf_token(demo_browser)).status_code == 403
    assert submit(demo_browser, url, {"confirm": "1"}, csrf_token(demo_browser)).status_code == 403
    assert dump(live.settings) == before
