"""Bulk delete from a list: the ticked rows, after a confirmation page naming them; each row
decided by the enforcer like a single delete, the refused ones kept and counted."""

import httpx

from tests.conftest import Backend
from tests.html.conftest import Browser
from tests.html.dom import Page
from tests.html.site import csrf_token, dump, follow_flash, location, page, submit
from tests.support.factories import UserFactory
from tests.support.records import Records


def bulk(browser: Browser, path: str, ids: list[int], confirm: bool) -> httpx.Response:
    data = {"ids": [str(i) for i in ids]} | ({"confirm": "1"} if confirm else {})
    return submit(browser, f"/{path}/bulk-delete", data, csrf_token(browser))


def test_ticked_rows_are_deleted_after_a_confirmation(
    admin_browser: Browser, admin: httpx.Client, records: Records, live: Backend
) -> None:
    tags = [records.create("tags", name=f"bulk-{n}") for n in range(3)]
    ids = [tag["id"] for tag in tags]
    listed = page(admin_browser, "/tags")
    boxes = [i for i in listed.root.find_all("input", name="ids") if i.attrs.get("form") == "bulk"]
    assert {int(box.attrs["value"]) for box in boxes} >= set(ids)
    assert listed.root.find("form", id="bulk") is not None

    before = dump(live.settings)
    asked = bulk(admin_browser, "tags", ids, confirm=False)
    assert asked.status_code == 200 and dump(live.settings) == before
    shown = Page(asked)
    assert shown.heading == "Delete 3 tags?"
    assert [a.text() for a in shown.root.find("main").find("ul").find_all("a")] == [  # type: ignore[union-attr]
        "bulk-0",
        "bulk-1",
        "bulk-2",
    ]
    done = bulk(admin_browser, "tags", ids, confirm=True)
    assert location(done) == "/tags"
    follow_flash(admin_browser, done, "Deleted 3 tags: bulk-0, bulk-1, bulk-2.")
    assert all(admin.get(f"/tags/{i}").status_code == 404 for i in ids)


def test_each_row_is_decided_like_a_single_delete(
    demo_browser: Browser, demo: httpx.Client, admin: httpx.Client, records: Records
) -> None:
    demo_id = demo.get("/auth/me").json()["id"]
    mine = records.create("tags", owner_user_id=demo_id, name="demo-bulk")
    theirs = records.create("tags", name="admin-bulk")  # demo reads every tag, deletes own
    asked = Page(bulk(demo_browser, "tags", [mine["id"], theirs["id"], 999999], confirm=False))
    assert asked.heading == "Delete 1 tag?"
    assert "2 of the rows ticked you may not delete" in asked.root.text()
    done = bulk(demo_browser, "tags", [mine["id"], theirs["id"], 999999], confirm=True)
    follow_flash(demo_browser, done, "Deleted 1 tag: demo-bulk. 2 could not be deleted")
    assert admin.get(f"/tags/{mine['id']}").status_code == 404
    assert admin.get(f"/tags/{theirs['id']}").status_code == 200


def test_the_last_admin_is_kept_and_the_others_go(
    admin_browser: Browser, admin: httpx.Client, make_user: UserFactory
) -> None:
    me = admin.get("/auth/me").json()["id"]
    other, _ = make_user()
    done = bulk(admin_browser, "users", [me, other["id"]], confirm=True)
    follow_flash(
        admin_browser, done, f"Deleted 1 user: {other['username']}. 1 could not be deleted"
    )
    assert admin.get(f"/users/{me}").status_code == 200
    assert admin.get(f"/users/{other['id']}").status_code == 404


def test_bad_bulk_requests_change_nothing(
    admin_browser: Browser, demo_browser: Browser, records: Records, live: Backend
) -> None:
    tag = records.create("tags")
    before = dump(live.settings)
    nothing = submit(
        admin_browser, "/tags/bulk-delete", {"ids": ["x", "-1", "0"]}, csrf_token(admin_browser)
    )
    follow_flash(admin_browser, nothing, "Tick the tags to delete first.")
    # Digits str.isdigit() takes and int() refuses (a 500), or reads as another number.
    odd = ["\u00b2", "\u2460", "\u2075", "\u0661", "\uff11", f"{tag['id']}\u00b2"]
    for confirm in ({}, {"confirm": "1"}):
        nothing = submit(
            admin_browser, "/tags/bulk-delete", {"ids": odd} | confirm, csrf_token(admin_browser)
        )
        follow_flash(admin_browser, nothing, "Tick the tags to delete first.")
    no_token = submit(
        admin_browser, "/tags/bulk-delete", {"ids": [str(tag["id"])], "confirm": "1"}, None
    )
    assert no_token.status_code == 403
    demo = submit(
        demo_browser, "/roles/bulk-delete", {"ids": ["1"], "confirm": "1"}, csrf_token(demo_browser)
    )
    assert demo.status_code == 403
    assert dump(live.settings) == before
