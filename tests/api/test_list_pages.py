"""Lists at scale: keyset cursors beside offsets, and totals counted only as far as needed."""

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from app.core.database import create_sync_engine
from app.core.lists import COUNT_CAP, LOOKUP_COUNT_CAP, SEARCH_COUNT_CAP
from app.models import Comment
from tests.conftest import Backend
from tests.support.callers import Callers
from tests.support.factories import unique
from tests.support.hostile import TAMPERED, forged
from tests.support.records import Records


def walk(api: httpx.Client, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Yield every page of a list, following `next_cursor` from the first page."""
    body = api.get(f"/{path}", params=params).json()
    yield body
    while body["next_cursor"] is not None:
        body = api.get(f"/{path}", params={**params, "cursor": body["next_cursor"]}).json()
        yield body


@pytest.fixture
def tasks(records: Records) -> list[int]:
    """Nine tasks with ties, NULLs and equal titles in the sort columns, out of id order."""
    project = records.create("projects")["id"]
    shapes = [
        ("pear", 3, None),
        ("apple", 1, "2027-01-05T10:00:00Z"),
        ("pear", 3, "2027-01-05T10:00:00Z"),
        ("fig", 5, None),
        ("apple", 2, "2026-12-01T08:30:00Z"),
        ("kiwi", 3, "2027-03-01T00:00:00Z"),
        ("fig", 1, None),
        ("date", 4, "2026-12-01T08:30:00Z"),
        ("pear", 3, None),
    ]
    return [
        records.create("tasks", project_id=project, title=t, priority=p, due_at=d)["id"]
        for t, p, d in shapes
    ]


SORTS = ["", "id", "-id", "title", "-title", "priority", "-priority", "due_at", "-due_at"]


@pytest.mark.parametrize("sort", SORTS)
def test_cursor_pages_match_the_one_page_order(
    admin: httpx.Client, tasks: list[int], sort: str
) -> None:
    """Follow cursors 2 rows at a time: every task once, in the order of one big page."""
    params = {"sort": sort} if sort else {}
    whole = admin.get("/tasks", params={**params, "limit": 200}).json()
    assert whole["next_cursor"] is None and whole["total_exact"] is True
    seen = [
        item["id"] for body in walk(admin, "tasks", limit=2, **params) for item in body["items"]
    ]
    assert seen == [item["id"] for item in whole["items"]]
    assert sorted(seen) == sorted(tasks) and len(set(seen)) == len(seen)


def test_order_puts_nulls_last_going_up_and_ties_follow_the_direction(
    admin: httpx.Client, tasks: list[int]
) -> None:
    """The same order on both backends: NULLs last ascending, first descending; id breaks
    ties in the sort's direction (the order a `(column, id)` index is read in)."""
    up = admin.get("/tasks", params={"sort": "due_at"}).json()["items"]
    down = admin.get("/tasks", params={"sort": "-due_at"}).json()["items"]
    assert [t["due_at"] for t in up][-4:] == [None] * 4
    assert [t["due_at"] for t in down][:4] == [None] * 4
    assert [t["id"] for t in down] == [t["id"] for t in reversed(up)]


def test_offset_pages_and_cursor_pages_agree(admin: httpx.Client, tasks: list[int]) -> None:
    """Page two by offset is page two by cursor."""
    first = admin.get("/tasks", params={"sort": "-priority", "limit": 3}).json()
    by_offset = admin.get("/tasks", params={"sort": "-priority", "limit": 3, "offset": 3}).json()
    by_cursor = admin.get(
        "/tasks", params={"sort": "-priority", "limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert by_cursor["items"] == by_offset["items"]
    assert by_cursor["total"] == by_offset["total"] == first["total"] == len(tasks)


INVALID = "no longer valid"


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"cursor": "not a cursor!"}, INVALID),
        ({"cursor": "x" * 1001}, INVALID),
        ({"cursor": "\x00"}, "without NUL bytes"),
        ({"cursor": forged("", None, 1), "offset": 5}, "cannot be combined"),
        ({"cursor": forged("title", "a", 1)}, "another sort"),
        ({"cursor": forged("due_at", 5, 1), "sort": "due_at"}, INVALID),
        ({"cursor": forged("due_at", "tomorrow", 1), "sort": "due_at"}, INVALID),
        ({"cursor": forged("priority", 2**40, 1), "sort": "priority"}, INVALID),
        ({"cursor": forged("priority", True, 1), "sort": "priority"}, INVALID),
        ({"cursor": forged("", None, 2**40)}, INVALID),
        ({"cursor": forged("", None, "1")}, INVALID),
        ({"cursor": forged("", 3, 1)}, INVALID),
        ({"cursor": base64.urlsafe_b64encode(b"[1, 2]").decode()}, INVALID),
    ],
)
def test_bad_cursors_are_refused_clearly(
    admin: httpx.Client, params: dict[str, Any], needle: str
) -> None:
    response = admin.get("/tasks", params=params)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "cursor"] and needle in error["msg"]


@pytest.mark.parametrize(("path", "sort", "cursor"), TAMPERED)
def test_tampered_cursors_are_refused_in_the_api_and_its_export(
    admin: httpx.Client, path: str, sort: str, cursor: str
) -> None:
    for fmt in ("json", "csv"):
        response = admin.get(f"/{path}", params={"sort": sort, "cursor": cursor, "format": fmt})
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["query", "cursor"] and INVALID in error["msg"], error


def test_a_cursor_past_any_text_a_column_holds_still_pages(
    admin: httpx.Client, records: Records
) -> None:
    """The longest names, in characters of four bytes, make cursors the list takes back."""
    names = [letter + "\U0001f600" * 199 for letter in "abc"]  # 200 characters, 797 bytes
    made = [records.create("customers", name=name)["id"] for name in names]
    seen = [
        item["id"]
        for body in walk(admin, "customers", sort="name", limit=1, q="\U0001f600" * 199)
        for item in body["items"]
    ]
    assert seen == made


def test_totals_stop_counting_past_the_cap(admin: httpx.Client, many_tags: int) -> None:
    """Past COUNT_CAP rows the total is a lower bound and says so; near the end it is exact."""
    every = admin.get("/tags", params={"limit": 1, "offset": COUNT_CAP + 10}).json()
    assert every["total_exact"] is True
    total = every["total"]
    assert total == many_tags

    first = admin.get("/tags", params={"limit": 5}).json()
    assert (first["total"], first["total_exact"]) == (COUNT_CAP, False)
    assert first["next_cursor"] is not None

    deep = admin.get("/tags", params={"limit": 5, "offset": 10}).json()
    assert (deep["total"], deep["total_exact"]) == (COUNT_CAP + 10, False)

    seen = [item["id"] for body in walk(admin, "tags", limit=200) for item in body["items"]]
    assert len(seen) == len(set(seen)) == total


def test_a_search_stops_counting_sooner(admin: httpx.Client, many_tags: int) -> None:
    """A search tests every row it passes: its total is exact to SEARCH_COUNT_CAP rows."""
    assert many_tags > COUNT_CAP > SEARCH_COUNT_CAP
    common = admin.get("/tags", params={"q": "BULK", "limit": 5}).json()
    assert (common["total"], common["total_exact"]) == (SEARCH_COUNT_CAP, False)
    deep = admin.get("/tags", params={"q": "bulk", "limit": 5, "offset": 600}).json()
    assert (deep["total"], deep["total_exact"]) == (600 + SEARCH_COUNT_CAP, False)
    assert [tag["name"] for tag in deep["items"]][:1] == ["bulk-00600"]
    rare = admin.get("/tags", params={"q": "bulk-0001", "limit": 5}).json()
    assert (rare["total"], rare["total_exact"]) == (10, True)
    end = admin.get("/tags", params={"q": "bulk-010", "limit": 5, "offset": 18}).json()
    assert (end["total"], end["total_exact"], len(end["items"])) == (20, True, 2)


def test_short_lists_are_exact(admin: httpx.Client, many_tags: int) -> None:
    """A search that matches few rows gets their exact number."""
    body = admin.get("/tags", params={"q": "bulk-0001"}).json()
    assert (body["total"], body["total_exact"], body["next_cursor"]) == (10, True, None)
    assert len(body["items"]) == 10


@pytest.mark.parametrize("q", ["école", "ÉCOLE", "ÉcOlE ÜN", "ünï"])
def test_search_ignores_case_beyond_ascii(admin: httpx.Client, records: Records, q: str) -> None:
    """`q` matches `lower(column)` with the pattern lowered alike on both backends (SQLite's
    own lower() knows ASCII only)."""
    tag = records.create("tags", name=unique("École Ünïcode "))
    found = admin.get("/tags", params={"q": q, "limit": 200}).json()["items"]
    assert tag["id"] in [item["id"] for item in found]
    assert admin.get("/tags", params={"q": "ecole ünïcode"}).json()["items"] == []


def test_a_list_decided_through_another_table_stops_counting_sooner(
    live: Backend, admin: httpx.Client, callers: Callers, records: Records
) -> None:
    """Comments readable where their task is (`can("read", record.task)`), tasks readable
    in one project: such a filter looks a task up for each comment it passes, so the total
    is exact to LOOKUP_COUNT_CAP rows; near the end it is exact, and the cursor walks them
    all."""
    project = records.create("projects", name=unique("counted"))
    other = records.create("projects")
    mine = [records.create("tasks", project_id=project["id"])["id"] for _ in range(3)]
    theirs = records.create("tasks", project_id=other["id"])["id"]
    count = LOOKUP_COUNT_CAP + 50
    engine = create_sync_engine(live.settings)
    try:
        with engine.begin() as connection:  # interleaved: a readable comment, then not
            rows = [
                {"task_id": task, "body": f"note {n}"}
                for n in range(count)
                for task in (mine[n % 3], theirs)
            ]
            connection.execute(insert(Comment), rows)
    finally:
        engine.dispose()

    def condition(model: str, expression: str) -> int:
        made = admin.post(
            "/conditions", json={"name": unique("c"), "model": model, "expression": expression}
        )
        assert made.status_code == 201, made.text
        return made.json()["id"]

    def grant(model: str, condition_id: int) -> int:
        made = admin.post(
            "/permissions",
            json={"model": model, "action": "read", "scope": "all", "condition_id": condition_id},
        )
        assert made.status_code == 201, made.text
        return made.json()["id"]

    name = project["name"]
    role = admin.post(
        "/roles",
        json={
            "name": unique("lookups"),
            "permission_ids": [
                grant("task", condition("task", f'record.project.name == "{name}"')),
                grant("comment", condition("comment", 'can("read", record.task)')),
            ],
        },
    )
    assert role.status_code == 201, role.text
    _, reader = callers.make_user(roles=(role.json()["name"],))

    first = reader.get("/comments", params={"limit": 5}).json()
    assert (first["total"], first["total_exact"]) == (LOOKUP_COUNT_CAP, False)
    deep = reader.get("/comments", params={"limit": 5, "offset": 30}).json()
    assert (deep["total"], deep["total_exact"]) == (30 + LOOKUP_COUNT_CAP, False)
    end = reader.get("/comments", params={"limit": 5, "offset": count - 20}).json()
    assert (end["total"], end["total_exact"]) == (count, True)
    seen = [item for body in walk(reader, "comments", limit=200) for item in body["items"]]
    assert len(seen) == count
    assert {item["task_id"] for item in seen} == set(mine)
    # The unconditioned list counts to COUNT_CAP as before.
    assert admin.get("/comments", params={"limit": 5}).json()["total"] >= 2 * count
