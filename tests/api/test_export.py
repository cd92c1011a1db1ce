"""CSV export: `format=csv` (or `Accept: text/csv`) streams every record the list selects
that the caller may read (search, filters and sort kept; not one page), page by page."""

import csv
import io
from typing import Any

import httpx
import pytest

from app.resources import REGISTRY
from app.services.export import cell
from tests.support.records import CREATABLE, Records


def exported(client: httpx.Client, path: str, **params: str) -> list[dict[str, str]]:
    response = client.get(f"/{path}", params=params | {"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{path}.csv"' in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def listed_ids(client: httpx.Client, path: str, **params: str) -> list[int]:
    """Every id the JSON list gives, following its cursor."""
    ids: list[int] = []
    cursor = None
    while True:
        query = params | {"limit": "200"} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/{path}", params=query).json()
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def test_export_streams_every_selected_row_past_one_page(
    admin: httpx.Client, many_tags: int
) -> None:
    rows = exported(admin, "tags", sort="-name")
    assert len(rows) == many_tags > 500, "more rows than one page of the export"
    assert list(rows[0]) == list(REGISTRY["tags"].read_schema.model_fields)
    assert [int(row["id"]) for row in rows] == listed_ids(admin, "tags", sort="-name")
    searched = exported(admin, "tags", q="bulk-0001")
    assert {row["name"] for row in searched} == {f"bulk-{n:05}" for n in range(10, 20)}


def test_export_holds_only_what_the_caller_may_read(
    admin: httpx.Client, demo: httpx.Client, records: Records
) -> None:
    demo_id = demo.get("/auth/me").json()["id"]
    records.create("tasks", owner_user_id=demo_id, title="demo's export")
    records.create("tasks", title="admin's secret export")
    rows = exported(demo, "tasks")
    titles = {row["title"] for row in rows}
    assert "demo's export" in titles and "admin's secret export" not in titles
    assert sorted(int(row["id"]) for row in rows) == sorted(listed_ids(demo, "tasks"))
    mine = exported(demo, "tasks", owner_user_id=str(demo_id))
    assert {row["owner_user_id"] for row in mine} == {str(demo_id)}


def test_accept_header_and_cells(admin: httpx.Client, records: Records) -> None:
    tag = records.create("tags", name="=HYPERLINK(1)")
    task = records.create("tasks", tag_ids=[tag["id"]], title="tagged")
    response = admin.get("/tasks", params={"q": "tagged"}, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    row = next(r for r in csv.DictReader(io.StringIO(response.text)) if r["title"] == "tagged")
    assert row["tag_ids"] == str(tag["id"]) and row["id"] == str(task["id"])
    names = {r["name"] for r in exported(admin, "tags", q="HYPERLINK")}
    assert names == {"'=HYPERLINK(1)"}, "a formula is exported as text"
    assert admin.get("/tags", headers={"Accept": "application/json"}).json()["items"] is not None


@pytest.mark.parametrize("params", [{"format": "xml"}, {"format": "csv", "limit": "0"}])
def test_bad_export_requests_are_refused(admin: httpx.Client, params: dict[str, str]) -> None:
    assert admin.get("/tags", params=params).status_code == 422


def listed_rows(client: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """Every item the JSON list gives, following its cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = params | {"limit": "200"} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/{path}", params=query).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("path", list(REGISTRY))
def test_the_export_is_the_filtered_list_for_admin_and_demo(
    path: str, admin: httpx.Client, demo: httpx.Client, records: Records
) -> None:
    """For every resource, as admin and as demo, unfiltered and filtered by owner: the same
    rows in the same order, each cell the list's value."""
    demo_id = demo.get("/auth/me").json()["id"]
    if path in CREATABLE:
        for _ in range(2):
            records.create(path)
            if path != "users":  # a user owns only their own row
                records.owned_by(path, demo_id)
    for client in (admin, demo):
        if client.get(f"/{path}").status_code == 403:  # demo may not read roles, say
            assert client.get(f"/{path}", params={"format": "csv"}).status_code == 403
            continue
        for params in ({"sort": "-id"}, {"owner_user_id": str(demo_id)}, {}):
            items = listed_rows(client, path, **params)
            assert items, (path, params)
            rows = exported(client, path, **params)
            assert [row["id"] for row in rows] == [str(item["id"]) for item in items], params
            for row, item in zip(rows, items, strict=True):
                assert row == {name: cell(value) for name, value in item.items()}
