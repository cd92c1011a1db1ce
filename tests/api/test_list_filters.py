"""List filters by a linked record (`tag_id`: the tasks carrying a tag) and by a range of days
(`due_at_from`, `due_at_to`: both days included; for a time, days in the caller's zone), the
same in the JSON list and its CSV export; bad values refused in words."""

from typing import Any

import httpx
import pytest

from app.resources import REGISTRY
from tests.api.test_export import exported, listed_ids
from tests.support.records import Records


def ids(client: httpx.Client, path: str, **params: Any) -> set[int]:
    return set(listed_ids(client, path, **params))


def test_tasks_by_tag_as_admin_and_demo(
    admin: httpx.Client, demo: httpx.Client, records: Records
) -> None:
    demo_id = demo.get("/auth/me").json()["id"]
    red = records.create("tags", name="filter-red", owner_user_id=demo_id)["id"]
    blue = records.create("tags", name="filter-blue", owner_user_id=demo_id)["id"]
    both = records.create("tasks", tag_ids=[red, blue], owner_user_id=demo_id)["id"]
    red_only = records.create("tasks", tag_ids=[red], owner_user_id=demo_id)["id"]
    hidden_red = records.create("tasks", tag_ids=[red])["id"]  # admin's: demo may not read it
    records.create("tasks", tag_ids=[])

    assert ids(admin, "tasks", tag_id=str(red)) == {both, red_only, hidden_red}
    assert ids(admin, "tasks", tag_id=str(blue)) == {both}
    assert ids(demo, "tasks", tag_id=str(red)) == {both, red_only}
    assert ids(admin, "tasks", tag_id=str(red), status="done") == set()
    for client in (admin, demo):
        rows = exported(client, "tasks", tag_id=str(red), sort="-id")
        assert [int(row["id"]) for row in rows] == listed_ids(
            client, "tasks", tag_id=str(red), sort="-id"
        ), "the export is the filtered list, in its order"


def test_users_by_role_and_group(admin: httpx.Client) -> None:
    roles = {role["name"]: role["id"] for role in admin.get("/roles").json()["items"]}
    groups = {group["name"]: group["id"] for group in admin.get("/groups").json()["items"]}
    admins = admin.get("/users", params={"role_id": roles["admin"]}).json()["items"]
    assert {user["username"] for user in admins} == {"admin"}
    team = admin.get("/users", params={"group_id": groups["demo-team"]}).json()["items"]
    assert "demo" in {user["username"] for user in team}


def test_a_range_of_dates_includes_both_days(admin: httpx.Client, records: Records) -> None:
    made = {
        day: records.create("projects", name=f"due {day}", due_date=day)["id"]
        for day in ("2031-03-09", "2031-03-10", "2031-03-11", "2031-03-12")
    }
    found = ids(admin, "projects", due_date_from="2031-03-10", due_date_to="2031-03-11")
    assert found == {made["2031-03-10"], made["2031-03-11"]}
    assert ids(admin, "projects", due_date_from="2031-03-12") >= {made["2031-03-12"]}
    assert made["2031-03-09"] in ids(admin, "projects", due_date_to="2031-03-09")
    assert ids(admin, "projects", due_date_from="2031-03-12", due_date_to="2031-03-10") == set()


def test_a_range_of_days_over_times_is_read_in_the_callers_zone(
    admin: httpx.Client, records: Records
) -> None:
    late = records.create("tasks", due_at="2031-06-01T12:00:00Z")["id"]  # 02:00 next day at +14
    early = records.create("tasks", due_at="2031-06-01T00:30:00Z")["id"]
    june_1 = {"due_at_from": "2031-06-01", "due_at_to": "2031-06-01"}
    assert ids(admin, "tasks", **june_1) == {late, early}, "no zone set: UTC days"
    me = admin.get("/auth/me").json()
    assert admin.put(f"/users/{me['id']}", json={"time_zone": "Pacific/Kiritimati"}).is_success
    assert ids(admin, "tasks", **june_1) == {early}, "the first of June at UTC+14"
    assert ids(admin, "tasks", due_at_from="2031-06-02", due_at_to="2031-06-02") == {late}
    admin.put(f"/users/{me['id']}", json={"time_zone": "America/Los_Angeles"})
    assert ids(admin, "tasks", due_at_from="2031-05-31", due_at_to="2031-05-31") == {early}


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def test_the_ends_of_the_calendar_are_ranges_too(
    zone: str, admin: httpx.Client, records: Records
) -> None:
    me = admin.get("/auth/me").json()
    assert admin.put(f"/users/{me['id']}", json={"time_zone": zone}).is_success
    task = records.create("tasks", due_at="2031-06-01T12:00:00Z")["id"]
    everything = {"due_at_from": "0001-01-01", "due_at_to": "9999-12-31"}
    assert task in ids(admin, "tasks", **everything)
    assert ids(admin, "tasks", due_at_to="0001-01-01") == set()
    assert ids(admin, "tasks", due_at_from="9999-12-31") == set()


BAD: list[tuple[str, dict[str, str], str]] = [
    ("tasks", {"tag_id": "red"}, "tag_id has an invalid value"),
    ("tasks", {"tag_id": "99999999999"}, "tag_id must be between -2147483647 and 2147483647"),
    ("tasks", {"priority": "-2147483647"}, "priority must be between -32767 and 32767"),
    ("tasks", {"due_at_from": "yesterday"}, "due_at_from must be a date like 2026-01-31"),
    ("tasks", {"due_at_to": "2031-06-01T10:00"}, "due_at_to must be a date like 2026-01-31"),
    ("tasks", {"due_at_to": "2031-02-30"}, "due_at_to must be a date like 2026-01-31"),
    ("projects", {"due_date_from": "2031-01-01\x00"}, "text without NUL bytes"),  # any query
    ("projects", {"due_date_to": "1" * 5000}, "due_date_to must be a date like 2026-01-31"),
    ("time_entries", {"spent_on_from": "20310101"}, "spent_on_from must be a date like 2026-01-31"),
]


@pytest.mark.parametrize(("path", "params", "message"), BAD)
def test_bad_filters_are_refused_in_words(
    path: str, params: dict[str, str], message: str, admin: httpx.Client
) -> None:
    for extra in ({}, {"format": "csv"}):
        response = admin.get(f"/{path}", params=params | extra)
        assert response.status_code == 422, response.text
        assert message in [error["msg"] for error in response.json()["detail"]]


def test_every_list_offers_its_ranges_and_links(admin: httpx.Client) -> None:
    """Each range column and link filter of every resource answers, the OpenAPI names it."""
    spec: dict[str, Any] = admin.get(admin.base_url.copy_with(path="/openapi.json")).json()
    for res in REGISTRY.values():
        names = [f"{c}_{b}" for c in res.range_columns for b in ("from", "to")]
        names += list(res.link_filters)
        listed = {p["name"] for p in spec["paths"][f"/api/v1/{res.path}"]["get"]["parameters"]}
        assert set(names) <= listed, res.path
        for name in names:
            value = "2031-01-01" if name.endswith(("_from", "_to")) else "1"
            assert admin.get(f"/{res.path}", params={name: value}).status_code == 200, name
